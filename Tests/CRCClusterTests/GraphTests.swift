import CRCCluster
import Foundation
import XCTest

/// `crc-cluster graph`: the tree as DOT (accepted by Graphviz), Mermaid (well-formed), and SVG.
final class GraphTests: ClusterTestCase {
    func tree() throws -> Topology {
        try TopologyLoader.load(path: Self.root.appendingPathComponent("topologies/tree.yaml").path)
    }

    func testDotHasEveryNodeAndLinkAndGraphvizAcceptsIt() throws {
        let t = try tree()
        let dot = TopologyGraph.dot(t)
        let lines = dot.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("shape=box") }.count, 7, dot)
        XCTAssertEqual(lines.filter { $0.contains("shape=ellipse") }.count, 7, dot)
        XCTAssertEqual(lines.filter { $0.contains("-> \"s:") }.count, 6, "one link per non-root server")
        XCTAssertEqual(lines.filter { $0.contains("-> \"c:") }.count, 7, "one line per client")
        XCTAssertTrue(dot.contains("\"s:grey_havens\" -> \"s:minastirith\""), dot)
        XCTAssertTrue(dot.contains("label=\"frodo\\nid 101\""), dot)
        try requireTool(FileManager.default.isExecutableFile(atPath: "/usr/bin/dot"), "Graphviz (dot)")
        let p = try cluster(["graph", "topologies/tree.yaml", "--format", "svg"])
        XCTAssertEqual(p.waitForExit(timeout: 60), .exited(0), p.stderrLines.joined(separator: "\n"))
        p.waitForEndOfOutput()
        let svg = p.stdoutLines.joined(separator: "\n")
        XCTAssertTrue(svg.contains("<svg"), svg)
        for name in t.servers.map(\.name) + t.clients.map(\.name) { XCTAssertTrue(svg.contains(">\(name)<"), "\(name) missing from the SVG") }
    }

    func testMermaidIsWellFormed() throws {
        let text = TopologyGraph.mermaid(try tree())
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "graph TD")
        let node = try NSRegularExpression(pattern: #"^  (s\d+\["[^"]*"\]|c\d+\(\["[^"]*"\]\))$"#)
        let edge = try NSRegularExpression(pattern: #"^  s\d+ (===|-\.-) [sc]\d+$"#)
        for line in lines.dropFirst() {
            let range = NSRange(line.startIndex..., in: line)
            XCTAssertTrue(node.firstMatch(in: line, range: range) != nil || edge.firstMatch(in: line, range: range) != nil, "not Mermaid: \(line)")
        }
        XCTAssertEqual(lines.filter { $0.contains("===") }.count, 6)
        XCTAssertEqual(lines.filter { $0.contains("-.-") }.count, 7)
    }

    func testRefusedAndLateNodesAreMarked() throws {
        let t = try TopologyLoader.parse("""
        servers:
          - {id: 1, name: a}
          - {id: 1, name: dup, upstream: a, refused: true}
          - {id: 2, name: late, upstream: a, start: false}
        clients:
          - {id: 101, name: "q\\"uote", server: a}
        """, file: "t.yaml")
        let dot = TopologyGraph.dot(t)
        XCTAssertTrue(dot.contains("\"s:dup\" [shape=box") && dot.contains("xlabel=\"refused\""), dot)
        XCTAssertTrue(dot.contains("xlabel=\"starts later\""), dot)
        XCTAssertTrue(dot.contains("q\\\"uote"), "quotes escaped: \(dot)")
        XCTAssertTrue(TopologyGraph.mermaid(t).contains("q#quot;uote · id 101"))
    }
}
