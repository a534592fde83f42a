#!/usr/bin/env python3
"""A plain load generator, the way the course's clients and most users' scripts talk to a server:
blocking sendall of one message on one socket, the receiving socket read through `selectors` with
a short timeout, no TCP_NODELAY, no busy polling. crc-bench runs it (`relay --generator python`)
against a network it started, for CRC (crc-server) or NATS (nats-server), so the two servers are
measured by a second, independent client; it prints one JSON object.

  pyload.py --protocol crc|nats --send-port P --recv-port Q [--messages M] [--pings N] [--size S] [--gap-us G]

Throughput: M messages written as fast as sendall takes them while a thread counts arrivals.
Latency: N round trips with one message in flight, G µs of sleep (in the selector) between them."""
import argparse, json, selectors, socket, struct, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--protocol", choices=["crc", "nats"], required=True)
ap.add_argument("--send-port", type=int, required=True)
ap.add_argument("--recv-port", type=int, required=True)
ap.add_argument("--messages", type=int, default=200000)
ap.add_argument("--pings", type=int, default=5000)
ap.add_argument("--size", type=int, default=32)
ap.add_argument("--gap-us", type=int, default=1000)
args = ap.parse_args()
SENDER, RECEIVER = 2000001, 2000002
SUBJECT = b"pyload"


class Reader:
    """The receiving socket, read through a selector with a short timeout; counts whole messages."""
    def __init__(self, sock, protocol):
        self.sock, self.protocol = sock, protocol
        self.sel = selectors.DefaultSelector()
        self.sel.register(sock, selectors.EVENT_READ)
        self.buf = b""

    def fill(self, timeout=0.05):
        if self.sel.select(timeout):
            data = self.sock.recv(1 << 20)
            if not data:
                raise SystemExit("pyload: the server closed the connection")
            self.buf += data
            return True
        return False

    def take(self):
        """How many whole chats (or MSGs) the buffer holds; consumes them, keeps the rest."""
        n, off, b = 0, 0, self.buf
        if self.protocol == "crc":
            while len(b) - off >= 1:
                t = b[off]
                head = {0x00: 12, 0x80: 12, 0x01: 15, 0x02: 13, 0x81: 13, 0x82: 9}[t]
                if len(b) - off < head:
                    break
                if t in (0x00, 0x80):
                    length = head + b[off + 9] + struct.unpack(">H", b[off + 10:off + 12])[0]
                elif t == 0x01:
                    length = head + struct.unpack(">I", b[off + 11:off + 15])[0]
                elif t in (0x02, 0x81):
                    length = head + struct.unpack(">I", b[off + 9:off + 13])[0]
                else:
                    length = head + struct.unpack(">I", b[off + 5:off + 9])[0]
                if len(b) - off < length:
                    break
                if t == 0x81:
                    n += 1
                off += length
        else:
            while True:
                nl = b.find(b"\r\n", off)
                if nl < 0:
                    break
                line = b[off:nl]
                if line.startswith(b"MSG "):
                    length = int(line.split()[-1])
                    if len(b) < nl + 2 + length + 2:
                        break
                    n += 1
                    off = nl + 2 + length + 2
                else:
                    if line.startswith(b"PING"):
                        self.sock.sendall(b"PONG\r\n")
                    off = nl + 2
        self.buf = b[off:]
        return n


def connect(port):
    return socket.create_connection(("127.0.0.1", port))


def wait_for(reader, pred, what, timeout=10):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise SystemExit("pyload: no %s within %d s" % (what, timeout))
        reader.fill()


text = b"x" * args.size
if args.protocol == "crc":
    def register(sock, cid):
        name = b"py%d" % cid
        sock.sendall(struct.pack(">BIIBH", 0x80, cid, 0, len(name), 0) + name)
    recv, send = connect(args.recv_port), connect(args.send_port)
    register(recv, RECEIVER)
    register(send, SENDER)
    # The sender knows the receiver once its registration has crossed the network.
    sr = Reader(send, "crc")
    wait_for(sr, lambda: struct.pack(">BI", 0x80, RECEIVER) in sr.buf, "registration of the receiver")
    threading.Thread(target=lambda: [sr.fill(1) and sr.take() for _ in iter(int, 1)], daemon=True).start()
    one = struct.pack(">BIII", 0x81, SENDER, RECEIVER, len(text)) + text
else:
    recv, send = connect(args.recv_port), connect(args.send_port)
    for s in (recv, send):
        s.recv(4096)  # INFO
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"echo":false}\r\nPING\r\n')
    rr = Reader(recv, "nats")
    recv.sendall(b"SUB " + SUBJECT + b" 1\r\nPING\r\n")
    wait_for(rr, lambda: rr.buf.count(b"PONG") >= 2, "PONG from the subscriber's server")
    rr.buf = b""
    sr = Reader(send, "nats")
    wait_for(sr, lambda: b"PONG" in sr.buf, "PONG from the publisher's server")
    one = b"PUB " + SUBJECT + b" %d\r\n" % len(text) + text + b"\r\n"
    # Subscriptions propagate between nodes asynchronously: probe until one message gets through.
    probe = Reader(recv, "nats")
    deadline = time.time() + 10
    while True:
        send.sendall(one)
        got = 0
        t = time.time()
        while time.time() - t < 0.2 and not got:
            probe.fill(0.02)
            got = probe.take()
        if got:
            break
        if time.time() > deadline:
            raise SystemExit("pyload: the subscription never reached the publisher's node")
    recv_reader = probe
reader = Reader(recv, args.protocol) if args.protocol == "crc" else recv_reader

# Throughput. Only chats (MSGs) reach the receiver now, all of one size: it counts bytes instead of
# parsing each one in Python, so the figure is the servers', not the parser's.
frame = len(one) if args.protocol == "crc" else len(b"MSG " + SUBJECT + b" 1 %d\r\n" % len(text)) + len(text) + 2
count = [0]
done = threading.Event()
def counting():
    got = len(reader.buf)
    reader.buf = b""
    want = args.messages * frame
    while got < want:
        if reader.sel.select(1):
            data = recv.recv(1 << 20)
            if not data:
                break
            got += len(data)
    count[0] = got // frame
    done.set()
batch = one * 1000
t0 = time.perf_counter()
th = threading.Thread(target=counting)
th.start()
for _ in range(args.messages // 1000):
    send.sendall(batch)
send.sendall(one * (args.messages % 1000))
if not done.wait(120):
    raise SystemExit("pyload: %d of %d messages arrived" % (count[0], args.messages))
rate = args.messages / (time.perf_counter() - t0)
th.join()

# Latency, one in flight, a sleep between round trips.
samples = []
for i in range(args.pings):
    if args.gap_us:
        reader.sel.select(args.gap_us / 1e6)  # sleeps: nothing is due on the receiving socket
    t = time.perf_counter()
    send.sendall(one)
    got = reader.take()
    while not got:
        reader.fill()
        got = reader.take()
    samples.append((time.perf_counter() - t) * 1e6)
samples.sort()
print(json.dumps({"generator": "python", "protocol": args.protocol, "rate": round(rate),
                  "latency_p50_us": samples[len(samples) // 2], "latency_p99_us": samples[int(len(samples) * 0.99)],
                  "pings": args.pings, "gap_us": args.gap_us}))
