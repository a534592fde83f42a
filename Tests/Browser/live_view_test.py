"""The live view in headless Chromium, driven through its DevTools protocol (cdp.py):

  live:    a chat sent from the page; its dots set off hop by hop along the tree's path, in order;
           kill from the page splits the drawing into parts
  runs:    the page's list of past runs, with verdicts
  replay:  a recorded run stepped through, every message of its wire.jsonl in order, and back

Prints one JSON object of what it saw; exits 1 with the reason when an expectation fails."""
import argparse, json, sys, time

from cdp import Browser

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--chat", nargs=3, metavar=("FROM", "TO", "TEXT"))
ap.add_argument("--path", help="the tree's path of the chat, comma-separated, client to client")
ap.add_argument("--delay", help="a server whose link to delay from the command box, then heal")
ap.add_argument("--kill", help="a server to kill from the page")
ap.add_argument("--parts", type=int, help="how many parts the tree is in after the kill")
ap.add_argument("--replay", help="a run id under the logs folder to replay")
ap.add_argument("--wire", help="that run's wire.jsonl")
ap.add_argument("--runs", help="comma-separated run ids the list must show, as id=PASS|FAIL")
ap.add_argument("--screenshot")
args = ap.parse_args()

seen = {}
b = Browser()
try:
    b.open(args.url)
    b.wait("window.crc && crc.mode === 'live' && document.querySelectorAll('#tree .node').length > 0", 30, "the live page to draw the tree")
    seen["nodes"] = b.eval("document.querySelectorAll('#tree .node').length")
    seen["presenter"] = b.eval("!document.getElementById('csend').disabled")
    if not seen["presenter"]:
        raise AssertionError("the page on loopback should let its viewer drive the network")

    if args.chat:
        frm, to, text = args.chat
        hops = args.path.split(",")
        want = [[hops[i], hops[i + 1]] for i in range(len(hops) - 1)]
        b.eval("document.getElementById('cfrom').value = %s; document.getElementById('cto').value = %s;"
               "document.getElementById('ctext').value = %s; document.getElementById('csend').click(); true"
               % (json.dumps(frm), json.dumps(to), json.dumps(text)))
        # The slowed pace (the default) sets each dot off after the one before.
        got = b.wait("(() => { const h = crc.log.filter(e => e.type === 'chat' && e.text === %s);"
                     " return h.length >= %d ? h : null })()" % (json.dumps(text), len(want)), 30, "the chat's dots")
        if args.screenshot:
            b.screenshot(args.screenshot)
        hopped = [[h["from"], h["to"]] for h in got]
        seen["chat_hops"] = hopped
        if hopped != want:
            raise AssertionError("the chat's dots went %s, the tree's path is %s" % (hopped, want))
        seqs = [h["seq"] for h in got]
        if seqs != sorted(seqs):
            raise AssertionError("the chat's dots set off out of the order the taps saw them: %s" % seqs)
        b.wait("[...document.querySelectorAll('#log div')].some(d => /converged .* after the chat/.test(d.textContent))", 20,
               "the convergence line after the chat")

    if args.delay:
        def run(line):
            b.eval("document.getElementById('cmd').value = %s; document.getElementById('cmdgo').click(); true" % json.dumps(line))
        run("delay %s 150" % args.delay)
        b.wait("!!document.querySelector('#tree .edge.delayed[data-a=%s]')" % json.dumps(args.delay), 20, "the delayed link drawn")
        seen["delay_label"] = b.eval("[...document.querySelectorAll('#tree .delaylabel')].map(t => t.textContent)")
        if seen["delay_label"] != ["+150 ms"]:
            raise AssertionError("the delayed link is labelled %s" % seen["delay_label"])
        run("heal %s" % args.delay)
        b.wait("!document.querySelector('#tree .edge.delayed') && [...document.querySelectorAll('#log div')].some(d => /after heal %s/.test(d.textContent))"
               % args.delay, 20, "the healed link drawn plain again")

    if args.kill:
        b.eval("document.querySelector('#tree [data-node=%s]').dispatchEvent(new MouseEvent('click', {bubbles: true})); true" % json.dumps(args.kill))
        b.wait("!!document.querySelector('#nodebtns [data-act=kill]')", 10, "the node's buttons")
        b.eval("document.querySelector('#nodebtns [data-act=kill]').click(); true")
        b.wait("crc.parts === %d" % args.parts, 30, "the drawing to split into %d parts" % args.parts)
        seen["parts"] = b.eval("Number(document.getElementById('tree').dataset.parts)")
        seen["killed_drawn_down"] = b.eval("document.querySelector('#tree [data-node=%s]').classList.contains('down')" % json.dumps(args.kill))
        if not seen["killed_drawn_down"]:
            raise AssertionError("%s is not drawn as not running after kill" % args.kill)
        b.wait("[...document.querySelectorAll('#log div')].some(d => /after kill %s/.test(d.textContent))" % args.kill, 20,
               "the convergence line after the kill")
        if args.screenshot:
            b.screenshot(args.screenshot.replace(".png", "-split.png"))

    if args.runs:
        b.eval("location.hash = '#runs'; true")
        b.wait("document.querySelectorAll('#runsbody tr').length > 0", 20, "the list of runs")
        listed = b.eval("[...document.querySelectorAll('#runsbody tr')].map(r => [r.dataset.run, r.children[0].textContent])")
        seen["runs"] = listed
        for pair in args.runs.split(","):
            rid, verdict = pair.split("=")
            if not any(r == rid and v.startswith(verdict) for r, v in listed):
                raise AssertionError("the list of runs lacks %s as %s: %s" % (rid, verdict, listed))

    if args.replay:
        rows = [json.loads(l) for l in open(args.wire) if l.strip()]
        rows = [r for r in rows if r["type"] != "closed"]
        b.eval("location.hash = '#run=' + %s; true" % json.dumps(args.replay))
        b.wait("crc.mode === 'replay' && crc.replay && crc.replay.total === %d" % len(rows), 20, "the replay to load %d messages" % len(rows))
        b.eval("crc.log.length = 0; true")
        for i in range(len(rows)):
            b.eval("document.getElementById('rfwd').click(); true")
        stepped = b.eval("crc.log.map(e => [e.seq, e.type, e.from, e.to])")
        want = [[i + 1, r["type"], r["from"], r["to"]] for i, r in enumerate(rows)]
        if stepped != want:
            first = next(i for i in range(min(len(stepped), len(want))) if stepped[i] != want[i]) if stepped[:len(want)] != want[:len(stepped)] else min(len(stepped), len(want))
            raise AssertionError("replay stepped %d messages; the wire has %d; first difference at %d: %s vs %s"
                                 % (len(stepped), len(want), first, stepped[first:first + 1], want[first:first + 1]))
        seen["replayed"] = len(stepped)
        # Messages an explored schedule delivered out of the default order are drawn marked.
        marked = b.eval("document.querySelectorAll('#st line.msg.reordered').length")
        expected = sum(1 for r in rows if r.get("reordered") and r["type"] != "undecodable")
        if marked != expected:
            raise AssertionError("%d messages drawn as reordered; the wire marks %d" % (marked, expected))
        seen["reordered_marked"] = marked
        at_end = b.eval("crc.replay.cursor")
        for i in range(3):
            b.eval("document.getElementById('rback').click(); true")
        back = b.eval("[crc.replay.cursor, crc.log.slice(-3).map(e => [e.seq, e.backwards])]")
        if back[0] != at_end - 3 or back[1] != [[len(rows), True], [len(rows) - 1, True], [len(rows) - 2, True]]:
            raise AssertionError("stepping back 3 from %d gave %s" % (at_end, back))
        seen["stepped_back_to"] = back[0]
        if args.screenshot:
            # For the picture: the first chat's expected path drawn, its second hop in flight.
            b.eval("const i = crc.replay.rows.findIndex(m => m.type === 'chat'); crc.seek(Math.max(0, i + 1));"
                   "document.querySelector('#chats li').click(); crc.forward();"
                   "window.dotStart = document.querySelector('#dots circle').getAttribute('cx'); true")
            # The picture once the dot is on its way, not still at its start.
            b.wait("(() => { const c = document.querySelector('#dots circle');"
                   " return c && Math.abs(c.getAttribute('cx') - window.dotStart) > 15 })()", 10, "the chat's dot to move")
            b.screenshot(args.screenshot.replace(".png", "-replay.png"))

    errors = b.errors + (b.eval("crc.errors") or [])
    seen["errors"] = errors
    if errors:
        raise AssertionError("script errors in the page: %s" % errors)
    print(json.dumps(seen))
except AssertionError as e:
    print(json.dumps(seen))
    print("live view test: %s" % e, file=sys.stderr)
    sys.exit(1)
finally:
    b.close()
