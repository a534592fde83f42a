# N clients connect, then all register at once; waits until every client has been told of every
# other (n-1 client registrations each, parsed), and prints the server's CPU seconds for that.
import socket, struct, sys, time, os, select
port=int(sys.argv[1]); n=int(sys.argv[2]); pid=int(sys.argv[3])
HDR={0x00:12,0x80:12,0x01:15,0x02:13,0x81:13,0x82:9}
def cpu():
    f=open(f"/proc/{pid}/stat").read().rsplit(")",1)[1].split()
    return (int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK")
socks=[socket.create_connection(('127.0.0.1',port)) for i in range(n)]
for s in socks: s.setblocking(False)
time.sleep(0.5)
c0=cpu(); t0=time.time()
for i,s in enumerate(socks):
    name=b"u%d"%i
    s.sendall(struct.pack(">BIIBH",0x80,10000+i,0,len(name),0)+name)
ep=select.epoll(); idx={}
for i,s in enumerate(socks): ep.register(s.fileno(), select.EPOLLIN); idx[s.fileno()]=i
buf=[b""]*n; regs=[0]*n; done=0
deadline=time.time()+300
while done<n and time.time()<deadline:
    for fd,_ in ep.poll(1):
        i=idx[fd]
        try:
            while True:
                d=socks[i].recv(1<<20)
                if not d: break
                buf[i]+=d
        except BlockingIOError: pass
        b=buf[i]; off=0
        while len(b)-off>=1:
            t=b[off]; h=HDR[t]
            if len(b)-off<h: break
            if t in (0,0x80): ln=h+b[off+9]+struct.unpack(">H",b[off+10:off+12])[0]
            elif t==1: ln=h+struct.unpack(">I",b[off+11:off+15])[0]
            elif t in (2,0x81): ln=h+struct.unpack(">I",b[off+9:off+13])[0]
            else: ln=h+struct.unpack(">I",b[off+5:off+9])[0]
            if len(b)-off<ln: break
            if t==0x80:
                regs[i]+=1
                if regs[i]==n-1: done+=1
            off+=ln
        buf[i]=b[off:]
print("%d clients registered at once: every client told of every other: %s; server CPU %.2f s, wall %.2f s"%(n, done==n, cpu()-c0, time.time()-t0))
