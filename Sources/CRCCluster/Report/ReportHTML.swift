import Foundation

/// One self-contained HTML page for a run (no network fetches): the tree as inline SVG, a
/// space-time diagram (a vertical line per node, an arrow per message per hop, coloured by type,
/// steps as horizontal bands), the chats (click one to highlight its path in both pictures),
/// expected against observed for failed checks, and the run's summary. Pure: data in, text out.
public enum ReportHTML {
    /// At most this many arrows are drawn (the rest are counted); a browser stays responsive.
    public static let maxArrows = 4000

    public static func render(_ run: RunRecord, wire: [WireRow]) -> String {
        let tree = treeSVG(run)
        let (diagram, drawn) = spaceTimeSVG(run, wire: wire)
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>crc run \(esc(run.name))</title>
        <style>\(css)</style></head><body>
        <h1>\(esc(run.name)) <span class="verdict \(verdictClass(run))">\(verdict(run))</span></h1>
        <p class="summary">\(run.servers.count) servers, \(run.clients.count) clients, \(run.steps.count) steps, \
        \(run.chats.count) chats, \(wire.filter { $0.type != "closed" }.count) messages on the wire\
        \(drawn < wire.count ? " (the first \(drawn) drawn)" : ""); \(String(format: "%.2f", run.seconds)) s; \
        run <code>\(esc(run.runID))</code> from <code>\(esc(run.file))</code>, started \(esc(run.started))</p>
        """
        if let e = run.error { html += "<p class=\"error\">\(esc(e))</p>" }
        if !run.differences.isEmpty {
            html += "<h2>What differed\(run.failedAt.map { " (\(esc($0)))" } ?? "")</h2><ul class=\"diffs\">"
            for d in run.differences { html += "<li><pre>\(esc(d))</pre></li>" }
            html += "</ul>"
        }
        if !run.tapped {
            html += "<p class=\"note\">The links were not tapped in this run, so the diagram has no messages (run with --tap).</p>"
        }
        html += "<div class=\"row\"><section><h2>The tree</h2>\(tree)</section>"
        html += "<section class=\"chats\"><h2>Chats <small>(click one to see its path)</small></h2><ol>"
        for (i, c) in run.chats.enumerated() {
            let observed = observedPath(c, wire: wire)
            // An unknown destination's expected path is "a → s: unknown id …": its hops are the part before the colon.
            let expectedHops = c.expected.components(separatedBy: ":").first ?? c.expected
            let differs = observed != nil && observed != expectedHops
            html += "<li class=\"chat\(differs ? " differs" : "")\" data-chat=\"\(i)\" data-path=\"\(esc(pathNodes(c).joined(separator: " ")))\">"
            html += "<b>\(esc(c.from)) → \(esc(c.to))</b> \(esc(quote(c.text)))<br><span class=\"exp\">expected: \(esc(c.expected))</span>"
            if let observed { html += "<br><span class=\"obs\">observed: \(esc(observed))\(differs ? " — DIFFERS" : "")</span>" }
            html += "</li>"
        }
        if run.chats.isEmpty { html += "<li class=\"none\">no chats in this run</li>" }
        html += "</ol></section></div>"
        html += "<h2>Space-time diagram <small>(time runs down; one arrow per message per hop)</small></h2>"
        html += "<p class=\"legend\">" + legend.map { "<span class=\"key \($0.0)\">\($0.1)</span>" }.joined(separator: " ") + "</p>"
        let reordered = wire.filter { $0.reordered == true }.count
        if reordered > 0 {
            html += "<p class=\"note\">Thick dashed arrows: the \(reordered) message\(reordered == 1 ? "" : "s") this run's schedule (crc-cluster explore) delivered out of the default order, early or held back; schedule.json beside this report lists the reorderings.</p>"
        }
        html += diagram
        html += "<pre id=\"selftest-result\"></pre><script>\(script)</script></body></html>\n"
        return html
    }

    static func verdict(_ r: RunRecord) -> String { r.passed.map { $0 ? "PASS" : "FAIL" } ?? "up session" }
    static func verdictClass(_ r: RunRecord) -> String { r.passed.map { $0 ? "pass" : "fail" } ?? "session" }

    static func quote(_ s: String) -> String { "\"\(s)\"" }

    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// The nodes a chat's path visits, by name ("frodo theshire … aragorn").
    static func pathNodes(_ c: RunRecord.Chat) -> [String] {
        c.expected.components(separatedBy: " → ").map { $0.components(separatedBy: ":").first ?? $0 }
    }

    /// The path the chat took on the wire, by name, or nil without a tap.
    static func observedPath(_ c: RunRecord.Chat, wire: [WireRow]) -> String? {
        let hops = wire.filter { $0.type == "chat" && $0.source == c.source && $0.destination == c.destination && $0.text == c.text }
        guard let first = hops.first else { return nil }
        return ([first.from] + hops.map(\.to)).joined(separator: " → ")
    }

    static let legend = [("server_registration", "server registration"), ("client_registration", "client registration"),
                         ("chat", "chat"), ("status", "status"), ("client_quit", "client quit"), ("server_quit", "server quit")]

    // MARK: The tree

    struct Placed { var name: String; var x: Double; var y: Double; var client: Bool; var foreign: Bool; var refused: Bool }

    /// A layered drawing: depth down, leaves left to right, each server centred over its children.
    static func layout(_ run: RunRecord) -> [Placed] {
        var children: [String: [String]] = [:]
        var isClient: [String: Bool] = [:]
        for s in run.servers { if let u = s.upstream { children[u, default: []].append(s.name) } }
        for c in run.clients { children[c.server, default: []].insert(c.name, at: 0); isClient[c.name] = true }
        var placed: [Placed] = []
        var nextX = 0.0
        var seen = Set<String>()
        func place(_ n: String, depth: Int) -> Double {
            guard seen.insert(n).inserted else { return nextX }
            let kids = children[n] ?? []
            let x: Double
            if kids.isEmpty {
                x = nextX
                nextX += 1
            } else {
                let xs = kids.map { place($0, depth: depth + 1) }
                x = (xs.min()! + xs.max()!) / 2
            }
            let server = run.servers.first { $0.name == n }
            let client = run.clients.first { $0.name == n }
            placed.append(Placed(name: n, x: x, y: Double(depth), client: isClient[n] ?? false,
                                 foreign: server?.foreign ?? false, refused: server?.refused ?? client?.refused ?? false))
            return x
        }
        for s in run.servers where s.upstream == nil { _ = place(s.name, depth: 0) }
        return placed
    }

    static func treeSVG(_ run: RunRecord) -> String {
        let nodes = layout(run)
        let dx = 92.0, dy = 78.0, pad = 50.0
        let width = (nodes.map(\.x).max() ?? 0) * dx + 2 * pad
        let height = (nodes.map(\.y).max() ?? 0) * dy + 2 * pad
        let at = Dictionary(nodes.map { ($0.name, (pad + $0.x * dx, pad + $0.y * dy)) }, uniquingKeysWith: { a, _ in a })
        var svg = "<svg id=\"tree\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        var edges: [(String, String)] = run.servers.compactMap { s in s.upstream.map { (s.name, $0) } }
        edges += run.clients.map { ($0.name, $0.server) }
        for (a, b) in edges {
            guard let p = at[a], let q = at[b] else { continue }
            svg += "<line class=\"edge\" data-a=\"\(esc(a))\" data-b=\"\(esc(b))\" x1=\"\(p.0)\" y1=\"\(p.1)\" x2=\"\(q.0)\" y2=\"\(q.1)\"/>"
        }
        for n in nodes {
            let (x, y) = at[n.name]!
            let id = run.servers.first { $0.name == n.name }?.id ?? run.clients.first { $0.name == n.name }?.id ?? 0
            let cls = "node \(n.client ? "client" : "server")\(n.foreign ? " foreign" : "")\(n.refused ? " refused" : "")"
            svg += "<g class=\"\(cls)\" data-node=\"\(esc(n.name))\"><title>\(esc(n.name)) (id \(id))\(n.refused ? " refused: duplicate id" : "")</title>"
            if n.client {
                svg += "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"15\"/>"
            } else {
                svg += "<rect x=\"\(x - 38)\" y=\"\(y - 15)\" width=\"76\" height=\"30\" rx=\"7\"/>"
            }
            svg += "<text x=\"\(x)\" y=\"\(y + (n.client ? 29 : 4))\">\(esc(n.name))</text><text class=\"id\" x=\"\(x)\" y=\"\(y + (n.client ? 40 : 26))\">\(id)</text></g>"
        }
        return svg + "</svg>"
    }

    // MARK: Space-time

    static func spaceTimeSVG(_ run: RunRecord, wire: [WireRow]) -> (String, Int) {
        // Columns: the tree's left-to-right order, so arrows between neighbours are short.
        let order = layout(run).sorted { ($0.x, $0.y) < ($1.x, $1.y) }.map(\.name)
        let column = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        let messages = wire.filter { $0.type != "closed" && $0.type != "undecodable" }
        let drawn = Array(messages.prefix(maxArrows))
        let colW = 90.0, rowH = 13.0, top = 60.0, left = 150.0
        let width = left + Double(order.count) * colW + 20
        let height = top + Double(drawn.count) * rowH + 40
        var svg = "<svg id=\"spacetime\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\">"
        svg += "<defs>" + legend.map { "<marker id=\"m-\($0.0)\" class=\"\($0.0)\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker>" }.joined() + "</defs>"
        // Steps as bands: from the first message at or after a step's start to the last before the next.
        for (i, step) in run.steps.enumerated() {
            let end = i + 1 < run.steps.count ? run.steps[i + 1].start : Double.infinity
            let rows = drawn.indices.filter { drawn[$0].t >= step.start && drawn[$0].t < end }
            let y0 = top + Double(rows.first ?? drawn.count) * rowH - 4
            let y1 = top + Double((rows.last ?? (drawn.count - 1)) + 1) * rowH
            svg += "<rect class=\"band\(step.fault ? " fault" : "")\" x=\"0\" y=\"\(y0)\" width=\"\(width)\" height=\"\(max(8, y1 - y0))\"/>"
            let took = step.converged.map { String(format: " (converged in %.0f ms)", ($0 - step.start) * 1000) } ?? " (did not converge)"
            svg += "<text class=\"steplabel\" x=\"4\" y=\"\(y0 + 11)\">\(step.index). \(esc(step.summary))\(esc(took))</text>"
        }
        for (i, n) in order.enumerated() {
            let x = left + Double(i) * colW
            let isClient = run.clients.contains { $0.name == n }
            svg += "<line class=\"life\(isClient ? " client" : "")\" x1=\"\(x)\" y1=\"\(top - 10)\" x2=\"\(x)\" y2=\"\(height - 20)\"/>"
            svg += "<text class=\"colname\" x=\"\(x)\" y=\"\(top - 16)\" transform=\"rotate(-30 \(x) \(top - 16))\">\(esc(n))</text>"
        }
        let chatIndex = Dictionary(run.chats.enumerated().map { ("\($0.element.source)|\($0.element.destination)|\($0.element.text)", $0.offset) },
                                   uniquingKeysWith: { a, _ in a })
        for (row, m) in drawn.enumerated() {
            guard let a = column[m.from], let b = column[m.to] else { continue }
            let y = top + Double(row) * rowH
            let x1 = left + Double(a) * colW, x2 = left + Double(b) * colW
            var attrs = "class=\"msg \(m.type)\(m.reordered == true ? " reordered" : "")\""
            if m.type == "chat", let i = chatIndex["\(m.source ?? 0)|\(m.destination ?? 0)|\(m.text ?? "")"] { attrs += " data-chat=\"\(i)\"" }
            let label = [m.type.replacingOccurrences(of: "_", with: " "), m.source.map { "from \($0)" }, m.destination.map { "to \($0)" },
                         m.lastHop.map { "last hop \($0)" }, m.text.map { quote($0) },
                         m.reordered == true ? "(out of the default order)" : nil].compactMap { $0 }.joined(separator: " ")
            svg += "<line \(attrs) x1=\"\(x1)\" y1=\"\(y)\" x2=\"\(x2 + (x2 > x1 ? -4 : 4))\" y2=\"\(y + rowH - 4)\" marker-end=\"url(#m-\(m.type))\"><title>\(String(format: "%.3f", m.t)) s: \(esc(m.from)) → \(esc(m.to)): \(esc(label))</title></line>"
        }
        return (svg + "</svg>", drawn.count)
    }

    // MARK: Style and behaviour

    static let css = """
    body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
    h1{font-size:22px}h2{font-size:17px;margin-top:22px}small{font-weight:normal;color:#777}
    .verdict{font-size:14px;padding:2px 8px;border-radius:4px;color:#fff;vertical-align:middle}
    .pass{background:#2a8a3a}.fail{background:#c0392b}.session{background:#5561a8}
    .summary,.note{color:#555}.error{color:#c0392b;white-space:pre-wrap}
    .diffs pre{margin:0;white-space:pre-wrap;color:#a33}
    .row{display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start}
    .chats ol{padding-left:20px;max-width:560px}.chat{cursor:pointer;padding:4px 6px;border-radius:4px;margin-bottom:4px}
    .chat:hover{background:#f3f0e6}.chat.selected{background:#ffe9a8}.chat.differs .obs{color:#c0392b}
    .exp,.obs{color:#666;font-size:12px}
    #tree .edge{stroke:#999;stroke-width:2}#tree .edge.hl{stroke:#e67e22;stroke-width:5}
    #tree .node rect{fill:#dfe8f7;stroke:#4a6fa5;stroke-width:1.5}#tree .node circle{fill:#e3f4e1;stroke:#3d8b37;stroke-width:1.5}
    #tree .node.foreign rect{fill:#f7e8d8;stroke:#b5651d}#tree .node.refused rect,#tree .node.refused circle{fill:#eee;stroke:#c0392b;stroke-dasharray:4 3}
    #tree .node.hl rect,#tree .node.hl circle{stroke:#e67e22;stroke-width:4}
    #tree text{font-size:11px;text-anchor:middle}#tree text.id{fill:#888;font-size:9px}
    #spacetime .life{stroke:#4a6fa5;stroke-width:1}#spacetime .life.client{stroke:#3d8b37;stroke-dasharray:3 3}
    #spacetime .colname{font-size:11px}#spacetime .steplabel{font-size:11px;fill:#555}
    #spacetime .band{fill:#f4f4f8}#spacetime .band.fault{fill:#fbeaea}
    #spacetime .msg{stroke-width:1.4}#spacetime .msg.reordered{stroke-width:3;stroke-dasharray:6 2}#spacetime .msg.dim{opacity:.15}#spacetime .msg.hl{stroke-width:4;opacity:1}
    .server_registration{stroke:#4a6fa5;fill:#4a6fa5}.client_registration{stroke:#3d8b37;fill:#3d8b37}
    .chat{stroke:#e67e22;fill:#e67e22}.status{stroke:#8e44ad;fill:#8e44ad}.client_quit{stroke:#8d6e63;fill:#8d6e63}
    .server_quit{stroke:#222;fill:#222}li.chat{stroke:none;fill:none}
    .key{display:inline-block;padding:1px 6px;margin-right:6px;border-left:14px solid;font-size:12px;stroke:none}
    .key.server_registration{border-color:#4a6fa5}.key.client_registration{border-color:#3d8b37}.key.chat{border-color:#e67e22}
    .key.status{border-color:#8e44ad}.key.client_quit{border-color:#8d6e63}.key.server_quit{border-color:#222}
    #selftest-result{display:none}
    """

    /// Clicking a chat highlights its path in the tree and its arrows in the diagram. With
    /// `#selftest` in the address, the page checks itself and writes the result into
    /// `#selftest-result` (the Chromium test reads it).
    static let script = """
    (function(){
    var errors=[];window.addEventListener('error',function(e){errors.push(String(e.message))});
    function select(li){
      document.querySelectorAll('li.chat').forEach(function(x){x.classList.toggle('selected',x===li)});
      var path=(li.getAttribute('data-path')||'').split(' ');var id=li.getAttribute('data-chat');
      document.querySelectorAll('#tree .node').forEach(function(n){n.classList.toggle('hl',path.indexOf(n.getAttribute('data-node'))>=0)});
      document.querySelectorAll('#tree .edge').forEach(function(e){
        var a=path.indexOf(e.getAttribute('data-a')),b=path.indexOf(e.getAttribute('data-b'));
        e.classList.toggle('hl',a>=0&&b>=0&&Math.abs(a-b)===1)});
      document.querySelectorAll('#spacetime .msg').forEach(function(m){
        var mine=m.getAttribute('data-chat')===id;m.classList.toggle('hl',mine);m.classList.toggle('dim',!mine)});
    }
    document.querySelectorAll('li.chat').forEach(function(li){li.addEventListener('click',function(){select(li)})});
    if(location.hash==='#selftest'){
      var r={nodes:document.querySelectorAll('#tree .node').length,edges:document.querySelectorAll('#tree .edge').length,
             arrows:document.querySelectorAll('#spacetime .msg').length,chats:document.querySelectorAll('li.chat').length};
      var first=document.querySelector('li.chat');
      if(first){first.click();r.highlightedArrows=document.querySelectorAll('#spacetime .msg.hl').length;
        r.highlightedEdges=document.querySelectorAll('#tree .edge.hl').length;
        r.highlightedNodes=Array.prototype.map.call(document.querySelectorAll('#tree .node.hl'),function(n){return n.getAttribute('data-node')});}
      r.errors=errors;document.getElementById('selftest-result').textContent=JSON.stringify(r);
    }
    })();
    """
}
