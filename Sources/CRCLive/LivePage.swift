/// The live view's one page: HTML, style and script inline, nothing fetched from elsewhere (it
/// works offline, in a lecture hall without a network). The same page shows a running network
/// (`up --web`), the list of past runs (`serve`) and the replay of one.
///
/// What a test can read: `window.crc` holds `log` (every message animated, in the order its dot
/// set off: seq, type, from, to, text), `errors` (script errors), `latency` (ms from a message
/// crossing a tap to its event reaching the page), `coalesced` (messages that reached the page as
/// counts only), `undrawn` (messages the page heard of but had no time to draw), and `replay`
/// (cursor, total) when replaying.
enum LivePage {
    /// The page: its markup here, its style in `LivePage+Style.swift`, its script in
    /// `LivePage+Script.swift`, put together once.
    static let html = "<!DOCTYPE html>\n" + head + "<style>\n" + style + "</style></head><body>\n" + body + "<script>\n" + script + "</script></body></html>\n"

    static let head = #"""
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>crc live</title>
"""# + "\n"

    static let body = #"""
<header>
  <h1 id="title">crc</h1><span class="status" id="status">connecting…</span>
  <span id="pace" class="controls">
    <button data-pace="real" title="every message as it happens">real time</button>
    <button data-pace="slow" class="on" title="one message after another, at a pace a class can follow">slowed</button>
    <button data-pace="paused" title="hold the messages; Step shows the next">paused</button>
    <button id="stepbtn" title="the next held message">step ▸</button>
    <span id="held"></span>
  </span>
  <span id="replaybar" class="controls hidden">
    <button id="rstart" title="back to the start">⇤</button>
    <button id="rback" title="one message back">◂</button>
    <button id="rplay" title="play / pause">▶</button>
    <button id="rfwd" title="one message forward">▸</button>
    <input id="rslider" type="range" min="0" value="0">
    <span id="rpos"></span>
  </span>
  <a href="/#runs" id="runslink">past runs</a>
</header>
<div id="banner"></div>
<main id="mainview">
  <div>
    <section><h2>The tree <small id="parts"></small></h2><div id="treebox"><svg id="tree" xmlns="http://www.w3.org/2000/svg" width="600" height="300"></svg></div>
      <p class="legend"><span class="key server_registration">server registration</span><span class="key client_registration">client registration</span><span class="key chat">chat</span><span class="key status">status</span><span class="key client_quit">client quit</span><span class="key server_quit">server quit</span></p>
    </section>
    <section style="margin-top:12px"><h2>Space-time diagram <small>(time runs down; one arrow per message per hop)</small></h2><div id="st"><svg id="spacetime" xmlns="http://www.w3.org/2000/svg" width="600" height="60"></svg></div></section>
  </div>
  <div>
    <section id="drive"><h2>Drive the network <small id="ro"></small></h2>
      <div class="controls">chat <select id="cfrom"></select> → <select id="cto"></select> <input id="ctext" value="hello" size="12"> <button id="csend">send</button></div>
      <div class="controls"><input id="cmd" placeholder="a console command: kill rivendale · cut moria · delay edoras 200 · state theshire · help"><button id="cmdgo">run</button></div>
    </section>
    <section style="margin-top:12px"><h2 id="dtitle">Click a node</h2><div class="controls" id="nodebtns"></div><div id="detail">its hosts, neighbours and links</div></section>
    <section style="margin-top:12px" id="chatbox" class="hidden"><h2>Chats <small>(click one: its expected path is drawn)</small></h2><ol id="chats"></ol></section>
    <section style="margin-top:12px"><h2>What happens</h2><div id="log"></div></section>
  </div>
</main>
<section id="runs" class="hidden" style="margin:12px 16px"><h2>Runs <small id="runsroot"></small></h2><table><thead><tr><th>verdict</th><th>scenario</th><th>started</th><th>seconds</th><th>chats</th><th>run</th></tr></thead><tbody id="runsbody"></tbody></table></section>
"""# + "\n"
}
