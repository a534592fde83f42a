/// The server tree of a topology, with its clients, as text for graph tools: Graphviz DOT (which
/// `dot -Tsvg` turns into a picture) and Mermaid (which Markdown viewers such as GitHub's draw).
/// Pure: `crc-cluster graph` prints these, or runs Graphviz for SVG.
public enum TopologyGraph {
    public enum Format: String, CaseIterable, Sendable {
        case dot, mermaid, svg
    }

    /// Graphviz DOT: servers as boxes, clients as ellipses, links from each upstream down;
    /// refused nodes dashed and red, nodes started later by a step grey.
    public static func dot(_ t: Topology) -> String {
        var out = "digraph \"\(escape(t.displayName))\" {\n"
        out += "  graph [rankdir=TB, fontname=\"Helvetica\", label=\"\(escape(t.displayName)): \(t.servers.count) servers, \(t.clients.count) clients\", labelloc=t];\n"
        out += "  node [fontname=\"Helvetica\", fontsize=11];\n  edge [arrowhead=none];\n"
        for s in t.servers {
            var attrs = "shape=box, style=\"rounded,filled\", fillcolor=\"#dbe8f6\", label=\"\(escape(s.name))\\nid \(s.id)\""
            if s.refused ?? false { attrs += ", color=red, fontcolor=red, style=\"rounded,dashed\", xlabel=\"refused\"" }
            else if s.start == false { attrs += ", fillcolor=\"#eeeeee\", xlabel=\"starts later\"" }
            out += "  \"s:\(escape(s.name))\" [\(attrs)];\n"
        }
        for c in t.clients {
            var attrs = "shape=ellipse, label=\"\(escape(c.name))\\nid \(c.id)\""
            if c.refused ?? false { attrs += ", color=red, fontcolor=red, style=dashed, xlabel=\"refused\"" }
            else if c.start == false { attrs += ", style=filled, fillcolor=\"#eeeeee\", xlabel=\"starts later\"" }
            out += "  \"c:\(escape(c.name))\" [\(attrs)];\n"
        }
        for s in t.servers {
            guard let up = s.upstream else { continue }
            out += "  \"s:\(escape(up))\" -> \"s:\(escape(s.name))\" [penwidth=2];\n"
        }
        for c in t.clients {
            out += "  \"s:\(escape(c.server))\" -> \"c:\(escape(c.name))\" [style=dashed];\n"
        }
        return out + "}\n"
    }

    /// Mermaid flowchart: `graph TD`, servers as rectangles, clients as stadiums, links as lines
    /// (thick between servers, dotted to clients). Node ids are generated; names are labels.
    public static func mermaid(_ t: Topology) -> String {
        var out = "graph TD\n"
        for (i, s) in t.servers.enumerated() {
            let tag = (s.refused ?? false) ? " (refused)" : (s.start == false ? " (starts later)" : "")
            out += "  s\(i)[\"\(mermaidText(s.name)) · id \(s.id)\(tag)\"]\n"
        }
        for (i, c) in t.clients.enumerated() {
            let tag = (c.refused ?? false) ? " (refused)" : (c.start == false ? " (starts later)" : "")
            out += "  c\(i)([\"\(mermaidText(c.name)) · id \(c.id)\(tag)\"])\n"
        }
        for (i, s) in t.servers.enumerated() {
            guard let up = s.upstream, let u = t.serverPosition(named: up) else { continue }
            out += "  s\(u) === s\(i)\n"
        }
        for (i, c) in t.clients.enumerated() {
            guard let u = t.serverPosition(named: c.server) else { continue }
            out += "  s\(u) -.- c\(i)\n"
        }
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// Mermaid labels in quotes take anything but a double quote, which is written as #quot;.
    static func mermaidText(_ s: String) -> String {
        s.replacingOccurrences(of: "\"", with: "#quot;")
    }
}
