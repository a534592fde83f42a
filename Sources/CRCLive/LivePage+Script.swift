extension LivePage {
    /// The page's script: the stream, the layout (a forest, parts side by side), the dots and
    /// their paces, the space-time diagram, node details, commands, the list of runs and replays.
    /// (One string of ~520 lines on purpose: it is one script of one page, whose parts share its
    /// state — the layout, the dots, the diagram's rows — and the browser test reads it as one.)
    static let script = #"""
"use strict";
const crc = window.crc = {log: [], errors: [], latency: [], coalesced: 0, undrawn: 0, mode: null, replay: null, parts: 0, received: 0};
window.addEventListener("error", e => crc.errors.push(String(e.message || e)));
window.addEventListener("unhandledrejection", e => crc.errors.push("promise: " + String(e.reason)));
const $ = id => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function say(kind, text) {
  const log = $("log");
  const line = document.createElement("div");
  line.className = /^(web|crc)> /.test(text) ? "command" : kind;
  line.textContent = text;
  log.appendChild(line);
  while (log.childNodes.length > 600) log.removeChild(log.firstChild);
  log.scrollTop = log.scrollHeight;
}

// ---- the network: nodes, their status, the layout ----
let run = null;            // the run record: servers, clients, chats
let status = {};           // node → status
let cut = new Set();
let delayed = {};          // link (the node below) → ms
let pos = {};              // node → [x, y]
let selected = null;
const DX = 96, DY = 80, PAD = 46;

function isLive(n) { const s = status[n]; return s === undefined || s === "live"; }
function upstreamOf(n) {
  const s = run.servers.find(x => x.name === n);
  if (s) return s.upstream || null;
  const c = run.clients.find(x => x.name === n);
  return c ? c.server : null;
}

/** A forest: every live node under its live parent (a cut or dead upstream makes a root); the
    parts side by side with a gap, nodes that are not running in a row below. */
function layout() {
  const names = run.servers.map(s => s.name).concat(run.clients.map(c => c.name));
  const kids = {}, roots = [], down = [];
  for (const n of names) {
    if (!isLive(n)) { down.push(n); continue; }
    const u = upstreamOf(n);
    const linked = u && isLive(u) && !cut.has(n);
    if (linked) (kids[u] = kids[u] || []).push(n); else roots.push(n);
  }
  // Clients first under their server, as in the report.
  const isClient = n => run.clients.some(c => c.name === n);
  for (const k in kids) kids[k].sort((a, b) => (isClient(b) - isClient(a)));
  pos = {};
  let next = 0, depthMax = 0;
  const part = {};
  function place(n, d, p) {
    depthMax = Math.max(depthMax, d);
    part[n] = p;
    const ks = kids[n] || [];
    let x;
    if (!ks.length) { x = next; next += 1; }
    else { const xs = ks.map(k => place(k, d + 1, p)); x = (Math.min(...xs) + Math.max(...xs)) / 2; }
    pos[n] = [x, d];
    return x;
  }
  // Server roots first (the tree's own root leads), then stray clients.
  roots.sort((a, b) => (isClient(a) - isClient(b)));
  roots.forEach((r, i) => { if (i > 0) next += 0.8; place(r, 0, i); });
  down.forEach((n, i) => { pos[n] = [i, depthMax + 1.4]; part[n] = -1; });
  const serverParts = new Set(run.servers.filter(s => isLive(s.name)).map(s => part[s.name]));
  return {part, parts: serverParts.size, down};
}

function xy(n) { const p = pos[n]; return p ? [PAD + p[0] * DX, PAD + p[1] * DY] : null; }

function drawTree() {
  const svg = $("tree");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const {part, parts, down} = layout();
  crc.parts = parts;
  svg.dataset.parts = parts;
  $("parts").textContent = parts > 1 ? "— a netsplit: " + parts + " parts" : "";
  let w = 0, h = 0;
  for (const n in pos) { const p = xy(n); w = Math.max(w, p[0]); h = Math.max(h, p[1]); }
  svg.setAttribute("width", w + PAD + 40); svg.setAttribute("height", h + PAD + 10);
  const edges = el("g", {id: "edges"}, svg);
  const all = run.servers.map(s => [s.name, s.upstream]).concat(run.clients.map(c => [c.name, c.server]));
  for (const [a, b] of all) {
    if (!b || !isLive(a) || !isLive(b) || part[a] !== part[b] && !cut.has(a)) continue;
    const p = xy(a), q = xy(b);
    if (!p || !q) continue;
    el("line", {class: "edge" + (cut.has(a) ? " cut" : delayed[a] ? " delayed" : ""), "data-a": a, "data-b": b, x1: p[0], y1: p[1], x2: q[0], y2: q[1]}, edges);
    if (delayed[a] && !cut.has(a)) {
      const t = el("text", {class: "delaylabel", x: (p[0] + q[0]) / 2 + 6, y: (p[1] + q[1]) / 2}, edges);
      t.textContent = "+" + delayed[a] + " ms";
    }
  }
  for (const s of run.servers) node(svg, s.name, s.id, false, s.foreign);
  for (const c of run.clients) node(svg, c.name, c.id, true, false);
  if (down.length) { const p = xy(down[0]); const t = el("text", {x: PAD - 30, y: p[1] - 30}, svg); t.style.textAnchor = "start"; t.textContent = "not running:"; }
  el("g", {id: "dots"}, svg);
}

function node(svg, n, id, client, foreign) {
  const p = xy(n);
  if (!p) return;
  const g = el("g", {class: "node " + (client ? "client" : "server") + (foreign ? " foreign" : "") + (isLive(n) ? "" : " down") + (selected === n ? " sel" : ""), "data-node": n}, svg);
  const t = el("title", {}, g); t.textContent = n + " (id " + id + ")" + (isLive(n) ? "" : ": " + status[n]);
  if (client) el("circle", {cx: p[0], cy: p[1], r: 14}, g);
  else el("rect", {x: p[0] - 40, y: p[1] - 15, width: 80, height: 30, rx: 7}, g);
  const a = el("text", {x: p[0], y: p[1] + (client ? 28 : 4)}, g); a.textContent = n;
  const b = el("text", {class: "id", x: p[0], y: p[1] + (client ? 39 : 26)}, g); b.textContent = id;
  g.addEventListener("click", () => choose(n));
}

// ---- messages as dots ----
let pace = "slow";
const queue = [];          // messages waiting for their dot (slowed or paused)
const dots = [];           // dots on their way
let lastStart = 0;
const MAX_DOTS = 160;

function label(m) {
  const parts = [m.type.replace(/_/g, " ")];
  if (m.source !== undefined) parts.push("from " + m.source);
  if (m.destination !== undefined) parts.push("to " + m.destination);
  if (m.text !== undefined) parts.push(JSON.stringify(m.text));
  if (m.reordered) parts.push("(out of the default order)");
  return parts.join(" ");
}

function launch(m, backwards) {
  const a = xy(backwards ? m.to : m.from), b = xy(backwards ? m.from : m.to);
  crc.log.push({seq: m.seq, type: m.type, from: m.from, to: m.to, text: m.text, backwards: !!backwards});
  if (crc.log.length > 20000) crc.log.splice(0, 5000);
  if (!a || !b || m.type === "closed") return;
  const layer = $("dots");
  if (!layer) return;
  const c = el("circle", {class: "dot " + m.type + (m.reordered ? " reordered" : ""), r: 7, cx: a[0], cy: a[1]}, layer);
  const t = el("title", {}, c); t.textContent = m.from + " → " + m.to + ": " + label(m);
  const span = pace === "real" ? 350 : 750;
  dots.push({c, a, b, t0: performance.now(), span});
  highlight(m.seq);
}

// Messages wait in the inbox for the next frame, which draws at most DRAW_PER_FRAME of them: the
// socket's handler stays cheap, so a busy network delays no event, it only draws fewer.
const inbox = [];
const DRAW_PER_FRAME = 120, MAX_INBOX = 3000;
function tick(now) {
  let drawn = 0;
  while (inbox.length && drawn < DRAW_PER_FRAME) { arrived(inbox.shift()); drawn += 1; }
  if (drawn) grew();
  for (let i = dots.length - 1; i >= 0; i--) {
    const d = dots[i], f = Math.min(1, (now - d.t0) / d.span);
    d.c.setAttribute("cx", d.a[0] + (d.b[0] - d.a[0]) * f);
    d.c.setAttribute("cy", d.a[1] + (d.b[1] - d.a[1]) * f);
    if (f >= 1) { d.c.remove(); dots.splice(i, 1); }
  }
  if (pace === "slow" && queue.length) {
    const gap = 420 / (1 + queue.length / 8);
    if (now - lastStart >= gap) { lastStart = now; launch(queue.shift()); }
  }
  $("held").textContent = queue.length ? queue.length + " waiting" : "";
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);

function arrived(m) {
  addRow(m);
  if (pace === "real") {
    if (dots.length < MAX_DOTS) launch(m); else crc.undrawn += 1;
  } else {
    queue.push(m);
    if (queue.length > 5000) { queue.splice(0, queue.length - 5000); }
  }
}

function setPace(p) {
  pace = p;
  for (const b of document.querySelectorAll("[data-pace]")) b.classList.toggle("on", b.dataset.pace === p);
  if (p === "real") { while (queue.length) launch(queue.shift()); }
}
for (const b of document.querySelectorAll("[data-pace]")) b.addEventListener("click", () => setPace(b.dataset.pace));
$("stepbtn").addEventListener("click", () => { if (queue.length) launch(queue.shift()); });

// ---- the space-time diagram ----
let columns = {}, rows = 0, rowOf = {};
const COLW = 84, ROWH = 12, TOP = 56, LEFT = 20, MAX_ROWS = 3000;
function drawColumns() {
  const svg = $("spacetime");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  rows = 0; rowOf = {};
  const order = Object.keys(pos).sort((a, b) => pos[a][1] - pos[b][1] || pos[a][0] - pos[b][0]).sort((a, b) => pos[a][0] - pos[b][0]);
  columns = {};
  order.forEach((n, i) => {
    columns[n] = LEFT + 30 + i * COLW;
    el("line", {class: "life", x1: columns[n], y1: TOP - 8, x2: columns[n], y2: 100000}, svg);
    const t = el("text", {x: columns[n] - 4, y: TOP - 14, transform: "rotate(-30 " + columns[n] + " " + (TOP - 14) + ")"}, svg);
    t.textContent = n;
  });
  svg.setAttribute("width", LEFT + 60 + order.length * COLW);
  el("g", {id: "rows"}, svg);
}
function addRow(m) {
  const g = $("rows");
  if (!g || m.type === "closed" || m.type === "undecodable") return;
  const x1 = columns[m.from], x2 = columns[m.to];
  if (x1 === undefined || x2 === undefined) return;
  const y = TOP + rows * ROWH;
  const line = el("line", {class: "msg " + m.type + (m.reordered ? " reordered" : ""), x1, y1: y, x2: x2 + (x2 > x1 ? -3 : 3), y2: y + ROWH - 3, "data-seq": m.seq}, g);
  const t = el("title", {}, line); t.textContent = (m.t !== undefined ? m.t.toFixed(3) + " s: " : "") + m.from + " → " + m.to + ": " + label(m);
  rowOf[m.seq] = line;
  rows += 1;
  if (g.childNodes.length > MAX_ROWS) { const old = g.firstChild; delete rowOf[old.dataset.seq]; g.removeChild(old); }
  if (crc.mode !== "live") grew();
}
/** The diagram's height after rows were added, and in a live view its newest row in sight. */
function grew() {
  $("spacetime").setAttribute("height", TOP + rows * ROWH + 20);
  const box = $("st");
  if (crc.mode === "live") box.scrollTop = box.scrollHeight;
}
let current = null;
function highlight(seq) {
  if (current) current.classList.remove("cur");
  current = rowOf[seq] || null;
  if (current) current.classList.add("cur");
}

// ---- a node's details ----
function choose(n) {
  selected = n;
  for (const g of document.querySelectorAll(".node")) g.classList.toggle("sel", g.dataset.node === n);
  $("dtitle").textContent = n;
  const btns = $("nodebtns");
  btns.innerHTML = "";
  const server = run.servers.some(s => s.name === n);
  if (crc.mode === "live") {
    const acts = server ? ["kill", "stop", "restart", "start"].concat(run.servers.find(s => s.name === n).upstream ? ["cut", "heal", "delay"] : [])
                        : ["quit", "kill", "restart", "start"];
    for (const a of acts) {
      const b = document.createElement("button");
      b.textContent = a === "cut" || a === "heal" || a === "delay" ? a + " its link" : a;
      b.dataset.act = a;
      b.disabled = !presenter;
      b.addEventListener("click", () => command(a === "delay" ? "delay " + n + " 300" : a + " " + n));
      btns.appendChild(b);
    }
    $("detail").textContent = "asking " + n + "…";
    send({state: n});
  } else if (crc.mode === "replay") {
    $("detail").textContent = knownAt(n);
  }
}

/** In a replay: what reached a node's links up to the cursor, by registrations. */
function knownAt(n) {
  const id = {}; for (const s of run.servers) id[s.name] = s.id; for (const c of run.clients) id[c.name] = c.id;
  const nameOf = {}; for (const k in id) nameOf[id[k]] = k;
  const via = {};
  for (let i = 0; i < crc.replay.cursor; i++) {
    const m = crc.replay.rows[i];
    if (m.to === n && (m.type === "server_registration" || m.type === "client_registration") && m.source !== undefined) via[m.source] = m.from;
  }
  const hosts = Object.keys(via).map(k => (nameOf[k] || k) + " (" + k + ") via " + via[k]);
  const neighbours = run.servers.filter(s => s.upstream === n || s.name === upstreamOf(n)).map(s => s.name)
    .concat(run.clients.filter(c => c.server === n).map(c => c.name));
  return "neighbours: " + (neighbours.join(", ") || "none") + "\nhosts learned so far (" + hosts.length + "):\n  " + (hosts.join("\n  ") || "none");
}

// ---- the stream ----
let socket = null, presenter = false;
function send(obj) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(obj)); }
function command(line) {
  if (!line.trim()) return;
  send({cmd: line});
}
$("csend").addEventListener("click", () => command("chat " + $("cfrom").value + " " + $("cto").value + " " + $("ctext").value));
$("cmdgo").addEventListener("click", () => { command($("cmd").value); $("cmd").value = ""; });
$("cmd").addEventListener("keydown", e => { if (e.key === "Enter") { command($("cmd").value); $("cmd").value = ""; } });

function begin(record) {
  run = record;
  $("title").textContent = "crc · " + run.name;
  document.title = "crc · " + run.name;
  drawTree();
  drawColumns();
  const names = run.clients.map(c => c.name);
  for (const s of ["cfrom", "cto"]) {
    $(s).innerHTML = "";
    for (const n of names) { const o = document.createElement("option"); o.textContent = n; $(s).appendChild(o); }
  }
  if (names.length > 1) $("cto").value = names[names.length - 1];
}

function live() {
  crc.mode = "live";
  const token = new URLSearchParams(location.search).get("token");
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/stream" + (token ? "?token=" + encodeURIComponent(token) : "");
  socket = new WebSocket(url);
  socket.onclose = () => { $("status").textContent = "disconnected: crc-cluster stopped (reload to reconnect)"; };
  socket.onmessage = ev => {
    const now = Date.now();
    const e = JSON.parse(ev.data);
    if (e.k === "hello") {
      if (e.mode === "archive") { archive(); return; }
      presenter = e.presenter;
      begin(e.run);
      network(e.network);
      $("status").textContent = "live" + (e.tapped ? "" : " — links not tapped: no messages to show");
      $("ro").textContent = presenter ? "" : "(read-only: the presenter holds the token)";
      for (const b of document.querySelectorAll("#drive button, #drive input, #drive select")) b.disabled = !presenter;
    } else if (e.k === "msgs") {
      for (const m of e.m) {
        crc.received += 1;
        if (e.backlog) { addRow(m); continue; }
        crc.latency.push(now - m.w);
        inbox.push(m);
      }
      if (e.backlog) grew();
      if (crc.latency.length > 100000) crc.latency.splice(0, 50000);
      if (inbox.length > MAX_INBOX) crc.undrawn += inbox.splice(0, inbox.length - MAX_INBOX).length;
    } else if (e.k === "coalesced") {
      let n = 0;
      for (const l of e.links) n += l.n;
      crc.coalesced += n;
      $("status").textContent = "live — busy: " + crc.coalesced + " messages shown as counts only";
    } else if (e.k === "network") {
      network(e);
    } else if (e.k === "console") {
      if (e.kind !== "done") say(e.kind, e.text);
    } else if (e.k === "state") {
      if (e.node === selected) $("detail").textContent = e.text;
    }
  };
}

function network(e) {
  status = e.status || {};
  cut = new Set(e.cut || []);
  delayed = e.delayed || {};
  drawTree();
  crc.parts = (e.parts || []).length || crc.parts;
  $("tree").dataset.parts = crc.parts;
  $("parts").textContent = crc.parts > 1 ? "— a netsplit: " + crc.parts + " parts" : "";
}

// ---- past runs and their replay ----
/** Leaves the live stream: a replay or the list shows no live messages. */
function quiet() {
  if (socket) { socket.onclose = null; socket.close(); socket = null; }
  queue.length = 0;
  inbox.length = 0;
}

async function archive() {
  quiet();
  crc.mode = "archive";
  $("mainview").classList.add("hidden");
  $("pace").classList.add("hidden");
  $("runs").classList.remove("hidden");
  $("title").textContent = "crc · runs";
  const answer = await (await fetch("/api/runs")).json();
  $("runsroot").textContent = answer.root + " — newest first";
  const body = $("runsbody");
  body.innerHTML = "";
  for (const r of answer.runs) {
    const tr = document.createElement("tr");
    tr.dataset.run = r.id;
    const verdict = r.passed === true ? "PASS" : r.passed === false ? "FAIL" : "session";
    const cls = r.passed === true ? "pass" : r.passed === false ? "fail" : "session";
    tr.innerHTML = "<td class=\"" + cls + "\"></td><td></td><td></td><td></td><td></td><td><a></a></td>";
    const cells = tr.children;
    cells[0].textContent = verdict + (r.failed_at ? " (" + r.failed_at + ")" : "");
    cells[1].textContent = r.name; cells[2].textContent = r.started; cells[3].textContent = r.seconds.toFixed(2);
    cells[4].textContent = r.chats; cells[5].firstChild.textContent = r.id; cells[5].firstChild.href = "#run=" + encodeURIComponent(r.id);
    body.appendChild(tr);
  }
  $("status").textContent = answer.runs.length + " runs";
  $("banner").style.display = "none";
}

async function replay(id) {
  quiet();
  crc.mode = "replay";
  $("runs").classList.add("hidden");
  $("mainview").classList.remove("hidden");
  $("pace").classList.add("hidden");
  $("drive").classList.add("hidden");
  $("replaybar").classList.remove("hidden");
  // A replay starts from the run's tree as it was launched, whatever the live network is now.
  status = {}; cut = new Set(); delayed = {}; selected = null;
  $("nodebtns").innerHTML = ""; $("log").innerHTML = ""; $("dtitle").textContent = "Click a node";
  $("detail").textContent = "what it had learned at this point of the run";
  const record = await (await fetch("/api/runs/" + encodeURIComponent(id) + "/run.json")).json();
  const text = await (await fetch("/api/runs/" + encodeURIComponent(id) + "/wire.jsonl")).text();
  const rows = text.split("\n").filter(l => l.trim()).map(JSON.parse).filter(m => m.type !== "closed");
  rows.forEach((m, i) => { m.seq = i + 1; });
  begin(record);
  appliedSteps = -1;
  crc.replay = {id, rows, cursor: 0, total: rows.length, playing: false};
  const verdict = record.passed === true ? "PASS" : record.passed === false ? "FAIL" : "up session";
  $("status").textContent = "replay of " + id + ": " + verdict + (record.failed_at ? " at " + record.failed_at : "") + ", " + rows.length + " messages";
  if (record.differences && record.differences.length) {
    $("banner").style.display = "block";
    $("banner").textContent = "What differed: " + record.differences.slice(0, 3).join(" · ");
  }
  if (!record.tapped) say("error", "this run's links were not tapped: it has no messages to replay");
  const chats = $("chats");
  chats.innerHTML = "";
  $("chatbox").classList.toggle("hidden", !record.chats.length);
  for (const c of record.chats) {
    const li = document.createElement("li");
    li.innerHTML = "<b></b> <span></span><br><span class=\"exp\"></span>";
    li.children[0].textContent = c.from + " → " + c.to;
    li.children[1].textContent = JSON.stringify(c.text);
    li.children[3].textContent = "expected: " + c.expected;
    li.addEventListener("click", () => expectPath(c));
    chats.appendChild(li);
  }
  $("rslider").max = rows.length;
  for (const s of (record.steps || [])) say(s.fault ? "faults" : "joins", "step " + s.index + " at " + s.start.toFixed(3) + " s: " + s.summary);
  showCursor();
}

/** Draws a chat's expected path on the tree, beside the hops it took. */
function expectPath(c) {
  const names = c.expected.split(":")[0].split(" → ").map(s => s.trim());
  for (const e of document.querySelectorAll(".edge")) e.classList.remove("hl");
  for (let i = 0; i + 1 < names.length; i++) {
    for (const e of document.querySelectorAll(".edge")) {
      if ((e.dataset.a === names[i] && e.dataset.b === names[i + 1]) || (e.dataset.b === names[i] && e.dataset.a === names[i + 1])) e.classList.add("hl");
    }
  }
  say("chats", "expected path of " + c.from + " → " + c.to + ": " + c.expected);
}

function forward() {
  const r = crc.replay;
  if (r.cursor >= r.total) { r.playing = false; return false; }
  const m = r.rows[r.cursor];
  r.cursor += 1;
  addRow(m);
  launch(m);
  showCursor();
  return true;
}
function back() {
  const r = crc.replay;
  if (r.cursor <= 0) return false;
  r.cursor -= 1;
  const m = r.rows[r.cursor];
  const line = rowOf[m.seq];
  if (line) { line.remove(); delete rowOf[m.seq]; rows -= 1; }
  launch(m, true);
  showCursor();
  return true;
}
function seek(k) {
  const r = crc.replay;
  for (const d of dots) d.c.remove();
  dots.length = 0;
  drawColumns();
  r.cursor = 0;
  while (r.cursor < k) { const m = r.rows[r.cursor]; r.cursor += 1; addRow(m); }
  showCursor();
}
/** In a replay, the tree as the run's steps had left it when the message at the cursor crossed:
    stopped and killed servers, quit clients, cut links. */
let appliedSteps = -1;
function replayState(t) {
  const steps = (run.steps || []).filter(s => s.start <= t);
  if (steps.length === appliedSteps) return;
  appliedSteps = steps.length;
  status = {}; cut = new Set(); delayed = {};
  for (const s of steps) {
    const w = s.summary.split(" "), node = (w[1] || "").replace(/:$/, "").replace(/'s$/, "");
    if (w[0] === "stop" || w[0] === "kill") status[node] = w[0] === "stop" ? "stopped" : "killed";
    else if (w[0] === "start" || w[0] === "restart") delete status[node];
    else if (w[0] === "quit") status[node] = "quit";
    else if (w[0] === "cut") cut.add(node);
    else if (w[0] === "heal") { cut.delete(node); delete delayed[node]; }
    else if (w[0] === "delay") { const ms = /by (\d+) ms/.exec(s.summary); if (ms) delayed[node] = Number(ms[1]); }
  }
  drawTree();
}

function showCursor() {
  const r = crc.replay;
  const at = r.cursor > 0 ? r.rows[r.cursor - 1] : null;
  replayState(at && at.t !== undefined ? at.t : -1);
  $("rpos").textContent = r.cursor + " / " + r.total;
  $("rslider").value = r.cursor;
  const m = r.cursor > 0 ? r.rows[r.cursor - 1] : null;
  if (m) {
    $("status").textContent = "message " + r.cursor + " of " + r.total + ": " + (m.t !== undefined ? m.t.toFixed(3) + " s " : "") + m.from + " → " + m.to + ": " + label(m);
    highlight(m.seq);
  }
  if (selected) $("detail").textContent = knownAt(selected);
}
$("rfwd").addEventListener("click", forward);
$("rback").addEventListener("click", back);
$("rstart").addEventListener("click", () => seek(0));
$("rslider").addEventListener("input", () => seek(Number($("rslider").value)));
$("rplay").addEventListener("click", () => {
  const r = crc.replay;
  r.playing = !r.playing;
  $("rplay").textContent = r.playing ? "❚❚" : "▶";
  const stepOn = () => { if (r.playing && forward()) setTimeout(stepOn, 500); else { r.playing = false; $("rplay").textContent = "▶"; } };
  if (r.playing) stepOn();
});
crc.forward = forward; crc.back = back; crc.seek = seek;

function route() {
  const h = location.hash;
  if (h.startsWith("#run=")) { replay(decodeURIComponent(h.slice(5))); return true; }
  if (h === "#runs") { archive(); return true; }
  return false;
}
window.addEventListener("hashchange", () => { if (!route() && crc.mode !== "live") location.reload(); });
if (!route()) live();
"""# + "\n"
}
