#!/usr/bin/env python3
# A stand-in for a student's server, behaving on the wire as the course's servers do (docs/protocol.md,
# "Course peers"): the interop and grading tests run it, and plant faults in copies of it, so the
# grader is proven by the wrong implementations it rejects. Not part of the product.
"""A CRC server that behaves the way the course's own Python servers do on the wire: a stand-in
for "a student's implementation" when testing interoperability and black-box grading.

It speaks CRC v1 (see docs/protocol.md) with the course's habits, which a conformant peer must
tolerate:
  * adjacency is decided by last_hop_id == 0 only (a registration whose last hop equals its
    source is NOT treated as adjacent);
  * its state burst to a new adjacent server starts with its own registration, last_hop_id 0;
  * when the server it joined answers with that registration, it treats it as a brand-new
    adjacent server too and answers with its own burst (its own registration again, last hop 0),
    which earns it a duplicate-id status that it just logs;
  * it does not know server quit (0x02): like the course parser, an unknown type byte is fatal
    and the process exits with status 1 ("Unrecognized message type");
  * a lost neighbour is simply closed: nothing is purged or announced;
  * it never sends a server quit; SIGTERM/SIGINT end it quietly.
It frames the byte stream correctly and never busy-waits.

usage: course_server.py --id N --servername NAME --port P [--info TEXT]
                        [--connect_to_host NAME --connect_to_port Q] [--log-file FILE]
--connect_to_host is ignored except as a label: the upstream is always 127.0.0.1 (as in the course).
"""
import argparse, selectors, signal, socket, struct, sys

p = argparse.ArgumentParser()
p.add_argument("--id", type=int, required=True); p.add_argument("--servername", required=True)
p.add_argument("--port", type=int, required=True); p.add_argument("--info", default="")
p.add_argument("--connect_to_host"); p.add_argument("--connect_to_port", type=int)
p.add_argument("--log-file", dest="log_file")
opt = p.parse_args()
ME = opt.id
log_fp = open(opt.log_file, "a") if opt.log_file else None
def log(text):
    if log_fp: log_fp.write("[%s] %s\n" % (opt.servername, text)); log_fp.flush()

def reg(kind, src, last, name, info):
    n, i = name.encode(), info.encode()
    return struct.pack("!BIIBH", kind, src, last, len(n), len(i)) + n + i
def status(src, dst, code, text):
    t = text.encode(); return struct.pack("!BIIHI", 0x01, src, dst, code, len(t)) + t

def parse(buf):
    """Whole messages at the front of buf -> (list of (type, fields, raw), rest)."""
    out = []
    while buf:
        t = buf[0]
        if t in (0x00, 0x80):
            if len(buf) < 12: break
            src, last, nl, il = struct.unpack("!IIBH", buf[1:12]); end = 12 + nl + il
            if len(buf) < end: break
            out.append((t, dict(src=src, last=last, name=buf[12:12+nl].decode(errors="replace"),
                                info=buf[12+nl:end].decode(errors="replace")), buf[:end]))
        elif t == 0x01:
            if len(buf) < 15: break
            src, dst, code, tl = struct.unpack("!IIHI", buf[1:15]); end = 15 + tl
            if len(buf) < end: break
            out.append((t, dict(src=src, dst=dst, code=code, text=buf[15:end].decode(errors="replace")), buf[:end]))
        elif t == 0x81:
            if len(buf) < 13: break
            src, dst, tl = struct.unpack("!III", buf[1:13]); end = 13 + tl
            if len(buf) < end: break
            out.append((t, dict(src=src, dst=dst, text=buf[13:end].decode(errors="replace")), buf[:end]))
        elif t == 0x82:
            if len(buf) < 9: break
            src, tl = struct.unpack("!II", buf[1:9]); end = 9 + tl
            if len(buf) < end: break
            out.append((t, dict(src=src, text=buf[9:end].decode(errors="replace")), buf[:end]))
        else:
            sys.stderr.write("Exception: Unrecognized message type!! (0x%02x)\n" % t); sys.exit(1)
        buf = buf[end:]
    return out, buf

class Conn:
    def __init__(self, sock): self.sock = sock; self.inbuf = b""; self.out = b""; self.peer = None  # ("server"|"client", id)

sel = selectors.DefaultSelector()
hosts = {}            # id -> dict(kind, name, info, first) ; first = id of the adjacent machine toward it
adj_servers, adj_clients = {}, {}   # id -> Conn
status_log = []

def send(conn, data):
    if not conn: return
    conn.out += data; sel.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
def conn_of(first): return adj_servers.get(first) or adj_clients.get(first)
def send_to_host(hid, data):
    if hid in hosts: send(conn_of(hosts[hid]["first"]), data)
def to_servers(data, skip=None):
    for sid, c in list(adj_servers.items()):
        if sid != skip: send(c, data)
def to_clients(data, skip=None):
    for cid, c in list(adj_clients.items()):
        if cid != skip: send(c, data)

def on_server_reg(c, m):
    if m["src"] in hosts or m["src"] == ME:
        log("duplicate server %d" % m["src"])
        send(c, status(ME, 0, 0x02, "A machine has already registered with ID %d" % m["src"])); return
    adjacent = m["last"] == 0
    hosts[m["src"]] = dict(kind="server", name=m["name"], info=m["info"], first=m["src"] if adjacent else m["last"])
    if adjacent:
        adj_servers[m["src"]] = c; c.peer = ("server", m["src"])
        send(c, reg(0x00, ME, 0, opt.servername, opt.info))
        for hid, h in list(hosts.items()):
            if hid != m["src"]: send(c, reg(0x00 if h["kind"] == "server" else 0x80, hid, ME, h["name"], h["info"]))
    to_servers(reg(0x00, m["src"], ME, m["name"], m["info"]), skip=m["src"])

def on_client_reg(c, m):
    if m["src"] in hosts or m["src"] == ME:
        send(c, status(ME, 0, 0x02, "Someone has already registered with ID %d" % m["src"])); return
    adjacent = m["last"] == 0
    hosts[m["src"]] = dict(kind="client", name=m["name"], info=m["info"], first=m["src"] if adjacent else m["last"])
    if adjacent:
        adj_clients[m["src"]] = c; c.peer = ("client", m["src"])
        send(c, status(ME, m["src"], 0x00, "Welcome to the Clemson Relay Chat network %s" % m["name"]))
        for hid, h in list(hosts.items()):
            if hid != m["src"] and h["kind"] == "client": send(c, reg(0x80, hid, ME, h["name"], h["info"]))
    fwd = reg(0x80, m["src"], ME, m["name"], m["info"])
    to_servers(fwd, skip=None if adjacent else m["last"]); to_clients(fwd, skip=m["src"])

def on_status(c, m, raw):
    if m["dst"] in (ME, 0): status_log.append(m["text"]); log("status: %s" % m["text"])
    else: send_to_host(m["dst"], raw)

def on_chat(c, m, raw):
    if m["dst"] in hosts and hosts[m["dst"]]["kind"] == "client": send_to_host(m["dst"], raw)
    else: send_to_host(m["src"], status(ME, m["src"], 0x01, "Unknown ID %d" % m["dst"]))

def on_quit(c, m, raw):
    if m["src"] not in hosts: return
    to_servers(raw, skip=hosts[m["src"]]["first"]); to_clients(raw, skip=m["src"])
    adj_clients.pop(m["src"], None); del hosts[m["src"]]

def drop(c):
    sel.unregister(c.sock); c.sock.close()
    if c.peer:
        (adj_servers if c.peer[0] == "server" else adj_clients).pop(c.peer[1], None)
        if c.peer[0] == "client": hosts.pop(c.peer[1], None)

def serve(c, mask):
    if mask & selectors.EVENT_READ:
        try: data = c.sock.recv(65536)
        except ConnectionError: data = b""
        if not data: drop(c); return
        msgs, c.inbuf = parse(c.inbuf + data)
        for t, m, raw in msgs:
            if t == 0x00: on_server_reg(c, m)
            elif t == 0x80: on_client_reg(c, m)
            elif t == 0x01: on_status(c, m, raw)
            elif t == 0x81: on_chat(c, m, raw)
            elif t == 0x82: on_quit(c, m, raw)
    if mask & selectors.EVENT_WRITE and c.out:
        try: n = c.sock.send(c.out)
        except ConnectionError: drop(c); return
        c.out = c.out[n:]
        if not c.out: sel.modify(c.sock, selectors.EVENT_READ, c)

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
lsock = socket.socket(); lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", opt.port)); lsock.listen(128); lsock.setblocking(False)
sel.register(lsock, selectors.EVENT_READ, None)
if opt.connect_to_port:
    up = socket.create_connection(("127.0.0.1", opt.connect_to_port)); up.setblocking(False)
    uc = Conn(up); sel.register(up, selectors.EVENT_READ, uc)
    send(uc, reg(0x00, ME, 0, opt.servername, opt.info))
log("listening on %d" % opt.port)
try:
    while True:
        for key, mask in sel.select():
            if key.data is None:
                s, _ = lsock.accept(); s.setblocking(False); sel.register(s, selectors.EVENT_READ, Conn(s))
            else: serve(key.data, mask)
except KeyboardInterrupt:
    pass
