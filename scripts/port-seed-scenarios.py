#!/usr/bin/env python3
"""Port the course's seed scenarios (its JSON files, in the folder given as the first argument) to
crc-cluster scenario YAML.

Run once; its output is committed under topologies/seed/. Names, ids, infos and texts are kept
exactly (quoted arguments keep their quotes). What is not carried over, and why:
  - ports: every server gets a free port, so scenarios can run in parallel;
  - WAIT: crc-cluster waits for the network to settle after every step instead of sleeping;
  - adjacent_server_ids: several files list wrong adjacency (docs/protocol.md), and crc-cluster derives
    adjacency from the tree anyway.
"""
import json, os, shlex, sys

def tokens(line):
    # Split on spaces, keeping a quoted argument whole with its quotes (the seed harness's behaviour).
    out, cur, quoted = [], "", False
    for ch in line:
        if ch == '"':
            quoted = not quoted; cur += ch
        elif ch == " " and not quoted:
            if cur: out.append(cur); cur = ""
        else:
            cur += ch
    if cur: out.append(cur)
    return out

def q(s):
    return json.dumps(s, ensure_ascii=False)

def port(src, dst):
    data = json.load(open(src))
    servers, clients, steps, names = [], [], [], {}
    ids = {}
    port_owner = {}
    started_steps = False
    notes = []
    for line in data["commands"]:
        t = tokens(line)
        opt = lambda n: t[t.index(n) + 1] if n in t else None
        if t[0] == "LAUNCHSERVER":
            name, nid = opt("--servername"), int(opt("--id"))
            port_owner[opt("--port")] = name
            node = {"id": nid, "name": name, "info": opt("--info")}
            host = opt("--connect_to_host")
            if host:
                known = [s["name"] for s in servers if not s.get("refused")]
                up = host if host in known else next((k for k in known if k.startswith(host)), None)
                if up is None: sys.exit(f"{src}: upstream {host} not found")
                if up != host: notes.append(f"the seed names upstream '{host}' for {name}: taken as '{up}'")
                by_port = port_owner.get(opt("--connect_to_port"))
                if by_port and by_port != up:
                    notes.append(f"the seed connects {name} to port {opt('--connect_to_port')} ({by_port}) while naming {up}: the name is used")
                node["upstream"] = up
            if nid in ids: node["refused"] = True
            ids.setdefault(nid, name)
            if started_steps:
                node["start"] = False; steps.append(("start", name))
            servers.append(node); names[name] = "server"
        elif t[0] == "LAUNCHCLIENT":
            name, nid = opt("--username"), int(opt("--id"))
            node = {"id": nid, "name": name, "info": opt("--info"), "server": opt("--serverhost")}
            if nid in ids: node["refused"] = True
            ids.setdefault(nid, name)
            if started_steps:
                node["start"] = False; steps.append(("start", name))
            clients.append(node); names[name] = "client"
        elif t[0] == "CLIENTCOMMAND":
            started_steps = True
            user = opt("--username"); c = t.index("--command")
            if t[c + 1] == "MESSAGE":
                steps.append(("chat", user, t[c + 2], " ".join(t[c + 3:])))
            else:
                steps.append(("quit", user, " ".join(t[c + 2:])))
    base = os.path.splitext(os.path.basename(src))[0]
    out = [f"# Ported from the course's seed scenario {os.path.basename(src)} by scripts/port-seed-scenarios.py.",
           f"# Seed type: {data['type']}. Names, ids, infos and texts are the seed's; quoted ones keep their quotes."]
    for n in notes: out.append(f"# Note: {n}.")
    out.append(f"name: {base}")
    def node_line(n):
        parts = [f"id: {n['id']}", f"name: {n['name']}", f"info: {q(n['info'])}"]
        for k in ("upstream", "server"):
            if k in n: parts.append(f"{k}: {n[k]}")
        if n.get("refused"): parts.append("refused: true")
        if n.get("start") is False: parts.append("start: false")
        return "  - {" + ", ".join(parts) + "}"
    out.append("servers:"); out += [node_line(s) for s in servers]
    if clients:
        out.append("clients:"); out += [node_line(c) for c in clients]
    if steps:
        out.append("steps:")
        for s in steps:
            if s[0] == "start": out.append(f"  - start: {s[1]}")
            elif s[0] == "chat": out.append(f"  - chat: {{from: {s[1]}, to: {s[2]}, text: {q(s[3])}}}")
            else: out.append(f"  - quit: {{client: {s[1]}, text: {q(s[2])}}}")
    final = data["final_state"]
    expect, firsts = [], []
    for key, st in final.items():
        name = key if key in names else next((n for n in names if key.startswith(n)), None)
        if name is None: sys.exit(f"{src}: final_state names unknown node {key}")
        kind = names[name]
        refused = any(n["name"] == name and n.get("refused") for n in servers)
        if data["type"] == "network_connectivity":
            firsts.append(f"  {name}: [{', '.join(q(h) for h in st.get('recvd_messages_asdqw', []))}]")
            continue
        if refused:
            continue  # a refused server exits 2 (checked at launch); it has no state to read
        fields = []
        if kind == "server":
            if "hosts_db" in st: fields.append(f"hosts: {st['hosts_db']}")
            if "adjacent_user_ids" in st: fields.append(f"adjacent_clients: {st['adjacent_user_ids']}")
            if "status_updates_log" in st: fields.append(f"status_log: [{', '.join(q(x) for x in st['status_updates_log'])}]")
        else:
            if "connected_user_ids" in st: fields.append(f"users: {st['connected_user_ids']}")
            if "status_updates_log" in st: fields.append(f"status_log: [{', '.join(q(x) for x in st['status_updates_log'])}]")
            if "chat_messages_log" in st: fields.append(f"chat_log: [{', '.join(q(x) for x in st['chat_messages_log'])}]")
        note = f"  # the seed calls it {key}" if key != name else ""
        expect.append(f"  {name}: {{{', '.join(fields)}}}{note}")
    if expect:
        out.append("# The seed's recorded final state (its adjacent_server_ids are not carried over: see docs/protocol.md, \"The course's seed scenarios\").")
        out.append("expect:"); out += expect
    if firsts:
        out.append("# The raw bytes the seed recorded as each server's first received message on each server link.")
        out.append("first_messages:"); out += firsts
    open(dst, "w").write("\n".join(out) + "\n")

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: scripts/port-seed-scenarios.py SEED_FOLDER [OUT_FOLDER]  (the course's seed-scenarios/ folder)")
    src_dir = sys.argv[1]
    dst_dir = sys.argv[2] if len(sys.argv) > 2 else "topologies/seed"
    os.makedirs(dst_dir, exist_ok=True)
    for f in sorted(os.listdir(src_dir)):
        if f.endswith(".json"):
            port(os.path.join(src_dir, f), os.path.join(dst_dir, f[:-5] + ".yaml"))
