#!/usr/bin/env python3
"""Latency of the live view: from a message crossing a tap to its event reaching the page.

Brings topologies/line.yaml up (5 servers in a line) with --web, opens the page in headless
Chromium (Tests/Browser/cdp.py) at the real-time pace, and drives chats from a client of its own on
s1 to another on s5: each chat crosses the 4 tapped server links, so N chats/s are 4N messages/s
on the taps. For each rate, in alternating rounds, the page records when each message's event
arrives (Date.now() in its WebSocket handler) against when the tap saw it (the event's `w`, the
same machine's clock); printed: medians over rounds of p50, p99 and max, and how many messages
reached the page one by one and how many only as counts (the stream coalesces above 2,000/s).

usage: scripts/live-latency.py [--bin .build/release] [--rates 200,1000,5000] [--rounds 3] [--seconds 5]"""
import argparse, json, os, re, socket, statistics, struct, subprocess, sys, threading, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "Tests", "Browser"))
from cdp import Browser  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(root, ".build", "release"))
ap.add_argument("--rates", default="200,1000,5000", help="messages per second on the taps")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--seconds", type=float, default=5)
args = ap.parse_args()
HOPS = 4


def register(port, cid, name):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(struct.pack(">BIIBH", 0x80, cid, 0, len(name), 0) + name)
    return s


def drain(s, stop):
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            if not s.recv(1 << 20):
                return
        except socket.timeout:
            pass


up = subprocess.Popen([os.path.join(args.bin, "crc-cluster"), "up", os.path.join(root, "topologies", "line.yaml"),
                       "--web", "0", "--console", "--logs", "/tmp/crc-live-latency-logs", "--no-color"],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
url, ports = None, {}
deadline = time.time() + 60
for line in up.stdout:
    m = re.search(r"live view: (http://\S+)", line)
    if m:
        url = m.group(1)
    m = re.search(r"\b(s\d) \(id \d+, port (\d+)", line)
    if m:
        ports[m.group(1)] = int(m.group(2))
    if "network settled" in line or time.time() > deadline:
        break
if not url or "s1" not in ports or "s5" not in ports:
    up.kill()
    sys.exit("live-latency: crc-cluster did not bring the line up (url %s, ports %s)" % (url, ports))
threading.Thread(target=lambda: [None for _ in up.stdout], daemon=True).start()

b = Browser()
rows = []
try:
    b.open(url)
    b.wait("window.crc && crc.mode === 'live' && document.querySelectorAll('#tree .node').length > 0", 30)
    b.eval("document.querySelector('[data-pace=real]').click(); true")
    sink = register(ports["s5"], 9002, b"sink")
    gen = register(ports["s1"], 9001, b"gen")
    stop = threading.Event()
    threading.Thread(target=drain, args=(sink, stop), daemon=True).start()
    threading.Thread(target=drain, args=(gen, stop), daemon=True).start()
    time.sleep(0.5)  # both registrations cross the line before the first chat (they are not measured)
    text = b"x" * 32
    chat = struct.pack(">BIII", 0x81, 9001, 9002, len(text)) + text
    results = {}
    for rnd in range(args.rounds):
        for rate in [int(r) for r in args.rates.split(",")]:
            b.eval("crc.latency = []; crc.received = 0; crc.coalesced = 0; true")
            per_second = rate / HOPS
            n = int(per_second * args.seconds)
            t0 = time.perf_counter()
            for i in range(n):
                # Sleeping, not spinning: a spinning generator would take a core from what is measured.
                wait = t0 + i / per_second - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                gen.sendall(chat)
            sent_for = time.perf_counter() - t0
            want = n * HOPS
            # Everything sent is either on the page or counted there, within a deadline.
            b.wait("crc.received + crc.coalesced >= %d" % want, 30, "the page to hear of %d messages" % want)
            lat = b.eval("crc.latency.slice().sort((a, b) => a - b)")
            got = b.eval("[crc.received, crc.coalesced]")
            p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
            results.setdefault(rate, []).append(dict(p50=p(0.5), p99=p(0.99), max=lat[-1] if lat else float("nan"),
                                                     individually=got[0], coalesced=got[1], achieved=want / sent_for))
            print("round %d, %5d msg/s (achieved %.0f): p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d one by one, %d as counts"
                  % (rnd + 1, rate, want / sent_for, p(0.5), p(0.99), results[rate][-1]["max"], got[0], got[1]), flush=True)
    stop.set()
    errors = b.errors + (b.eval("crc.errors") or [])
    print()
    print("messages/s on the taps | p50 ms (median of rounds) | p99 ms | max ms | streamed one by one | as counts")
    for rate, rs in results.items():
        med = lambda k: statistics.median(r[k] for r in rs)
        rng = lambda k: "%.1f–%.1f" % (min(r[k] for r in rs), max(r[k] for r in rs))
        print("%6d | %.1f (%s) | %.1f (%s) | %.1f | %d | %d" % (rate, med("p50"), rng("p50"), med("p99"), rng("p99"), med("max"),
                                                               med("individually"), med("coalesced")))
    if errors:
        print("script errors in the page:", errors)
        sys.exit(1)
finally:
    b.close()
    up.stdin.write("exit\n")
    up.stdin.flush()
    try:
        up.wait(20)
    except subprocess.TimeoutExpired:
        up.kill()
