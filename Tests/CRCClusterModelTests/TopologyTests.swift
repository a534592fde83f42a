import CRCCluster
import XCTest
import CRCTesting

final class TopologyTests: XCTestCase {
    func errors(_ yaml: String) -> [String] {
        do {
            _ = try TopologyLoader.parse(yaml, file: "t.yaml")
            return []
        } catch let e as YAMLErrors {
            return e.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    func testValidTopologyDecodes() throws {
        let t = try TopologyLoader.parse("""
        name: demo
        servers:
          - {id: 1, name: a, info: "root"}
          - id: 2
            name: b
            upstream: a
            port: 40001
        clients:
          - {id: 101, name: x, server: b}
        steps:
          - chat: {from: x, to: 999, text: '"quoted"'}
          - quit: {client: x, text: bye}
          - settle
        """, file: "t.yaml")
        XCTAssertEqual(t.servers.map(\.name), ["a", "b"])
        XCTAssertEqual(t.servers[1].upstream, "a")
        XCTAssertEqual(t.servers[1].port, 40001)
        XCTAssertEqual(t.steps.map(\.action), [.chat(from: "x", to: "999", text: "\"quoted\""), .quit(client: "x", text: "bye"), .settle])
    }

    func testFaultStepsDecodeWithTheirDeadlines() throws {
        let t = try TopologyLoader.parse("""
        servers:
          - {id: 1, name: a}
          - {id: 2, name: b, upstream: a}
        steps:
          - kill: b
            within: 1
          - restart: b
          - cut: b
            within: 0.5
          - delay: {link: b, ms: 250}
          - heal: b
          - stop: a
        """, file: "t.yaml")
        XCTAssertEqual(t.steps.map(\.action), [.kill("b"), .restart("b"), .cut("b"), .delay("b", milliseconds: 250), .heal("b"), .stop("a")])
        XCTAssertEqual(t.steps.map(\.within), [1, nil, 0.5, nil, nil, nil])
        XCTAssertEqual(t.steps[0].summary, "kill b (within 1.0 s)")
    }

    func testLinkFaultsMustNameAServerWithAnUpstream() {
        let e = errors("""
        servers:
          - {id: 1, name: a}
          - {id: 2, name: b, upstream: a}
        clients:
          - {id: 3, name: x, server: a}
        steps:
          - cut: a
          - heal: x
          - delay: {link: nowhere, ms: 10}
          - restart: ghost
        """)
        let text = e.joined(separator: "\n")
        XCTAssertTrue(text.contains("step 1: 'a' is a root server"), text)
        XCTAssertTrue(text.contains("step 2: links are named by the server below them; 'x' is not a server"), text)
        XCTAssertTrue(text.contains("step 3: links are named by the server below them; 'nowhere' is not a server"), text)
        XCTAssertTrue(text.contains("step 4: no node named 'ghost'"), text)
        XCTAssertEqual(e.count, 4, text)
        let bad = errors("servers:\n  - {id: 1, name: a}\nsteps:\n  - kill: a\n    within: -1\n")
        XCTAssertEqual(bad, ["t.yaml:4:5: within must be a positive number of seconds for 'steps[0]'"])
    }

    func testSyntaxErrorsCarryFileLineAndColumn() {
        let e = errors("servers:\n  - {id: 1, name: a\n")
        XCTAssertEqual(e.count, 1)
        XCTAssertTrue(e[0].hasPrefix("t.yaml:3:"), e[0])
        XCTAssertTrue(e[0].contains("invalid YAML"), e[0])
    }

    func testTypeErrorsSayWhatWasExpected() {
        let e = errors("servers:\n  - {id: one, name: a}\n")
        XCTAssertEqual(e, ["t.yaml:2:10: expected an integer from 0 to 4294967295 for 'servers[0].id', found 'one'"])
    }

    func testUnknownKeysAreAllReportedWithDidYouMean() {
        let e = errors("""
        servers:
          - {id: 1, name: a, upstraem: b}
        clients:
          - {id: 2, name: c, server: a, inf: x}
        """)
        XCTAssertEqual(e.count, 2, "\(e)")
        XCTAssertTrue(e[0].hasPrefix("t.yaml:2:22: unknown key 'upstraem'") && e[0].contains("did you mean 'upstream'?"), e[0])
        XCTAssertTrue(e[1].hasPrefix("t.yaml:4:33: unknown key 'inf'") && e[1].contains("did you mean 'info'?"), e[1])
    }

    func testSemanticErrorsAreReportedTogetherBeforeLaunch() {
        let e = errors("""
        servers:
          - {id: 1, name: a, port: 4000}
          - {id: 1, name: b, upstream: a}
          - {id: 3, name: a, upstream: zz}
          - {id: 4, name: d, upstream: e, port: 4000}
          - {id: 5, name: e, upstream: d}
        clients:
          - {id: 6, name: x, server: nowhere}
        """)
        let text = e.joined(separator: "\n")
        XCTAssertTrue(text.contains("t.yaml:3:10: duplicate id 1"), text)
        XCTAssertTrue(text.contains("t.yaml:4:19: duplicate name 'a'"), text)
        XCTAssertTrue(text.contains("upstream 'zz' is not a server"), text)
        XCTAssertTrue(text.contains("loop in server links"), text)
        XCTAssertTrue(text.contains("port 4000 is pinned by both 'a' and 'd'"), text)
        XCTAssertTrue(text.contains("t.yaml:8:30: client 'x': server 'nowhere' is not a server"), text)
        XCTAssertEqual(e.count, 6, text)
    }

    func testIntendedDuplicateNeedsRefusedAndAHolder() {
        XCTAssertEqual(errors("servers:\n  - {id: 1, name: a}\n  - {id: 1, name: b, upstream: a, refused: true}\n"), [])
        let e = errors("servers:\n  - {id: 1, name: a, refused: true}\n")
        XCTAssertEqual(e.count, 1)
        XCTAssertTrue(e[0].contains("no node listed before it holds id 1"), e[0])
    }

    func testEmptyAndMissingFiles() {
        XCTAssertTrue(errors("").first?.contains("the file is empty") ?? false)
        XCTAssertThrowsError(try TopologyLoader.load(path: "/nonexistent/x.yaml")) { error in
            XCTAssertEqual("\(error)", "/nonexistent/x.yaml: no such file (and no built-in one of that name: crc-cluster scenarios lists them)")
        }
    }

    /// Depths in the tree, worked out once: the root 0, each server one below its upstream; a
    /// line of 20,000 servers in linear time (teardown and simulate order servers by it).
    func testDepthsFollowTheTree() throws {
        let tree = try TopologyLoader.load(path: TestSupport.repositoryRoot.appendingPathComponent("topologies/tree.yaml").path)
        let d = tree.depths
        XCTAssertEqual(d["theshire"], 0)
        XCTAssertEqual(d["rivendale"], 1)
        XCTAssertEqual(d["grey_havens"], 1)
        XCTAssertEqual(d["lothlorien"], 2)
        XCTAssertEqual(d["minastirith"], 2)
        XCTAssertEqual(d.count, tree.servers.count)
        let line = Topology(servers: (1...20_000).map { ServerSpec(id: UInt32($0), name: "s\($0)", upstream: $0 == 1 ? nil : "s\($0 - 1)") })
        let t0 = Date()
        let ld = line.depths
        XCTAssertEqual(ld["s20000"], 19_999)
        XCTAssertEqual(ld["s1"], 0)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5, "depths must be linear")
    }

    func testGeneratedTopologiesAreValidTrees() throws {
        for shape in Shape.allCases {
            let t = try TopologyLoader.parse(TopologyGenerator.yaml(servers: 40, clients: 100, shape: shape, seed: 7), file: "gen")
            XCTAssertEqual(t.servers.count, 40)
            XCTAssertEqual(t.clients.count, 100)
            XCTAssertEqual(t.servers.filter { $0.upstream == nil }.count, 1, "\(shape): one root")
            var model = NetworkModel(topology: t)
            for s in t.servers { model.start(s.name) }
            XCTAssertEqual(model.servers(inComponentOf: "s1").count, 40, "\(shape): connected")
        }
        // line: s40 is 39 hops from s1; star: every leaf is one hop away.
        let line = try TopologyLoader.parse(TopologyGenerator.yaml(servers: 40, clients: 0, shape: .line), file: "gen")
        var m = NetworkModel(topology: line)
        for s in line.servers { m.start(s.name) }
        XCTAssertEqual(m.serverPath(from: "s1", to: "s40").count, 40)
    }

    // MARK: Hostile and large input (issue 7)

    func testDeepNestingIsALocatedErrorNotACrash() {
        let e = errors("servers: " + String(repeating: "[", count: 30_000))
        XCTAssertEqual(e.count, 1, "\(e.prefix(3))")
        XCTAssertTrue(e[0].hasPrefix("t.yaml:1:") && e[0].contains("nested more than 64 levels"), e[0])
    }

    func testTabsGetAPlainMessage() {
        let e = errors("servers:\n\t- {id: 1, name: a}\n")
        XCTAssertEqual(e, ["t.yaml:2:1: tabs are not allowed for indentation in YAML: indent with spaces"])
    }

    func testEveryTypeErrorInTheListsIsReported() {
        let e = errors("""
        servers:
          - {id: one, name: a}
          - {id: 2, name: b, upstream: a, port: many}
        clients:
          - {id: -3, name: c, server: a}
        steps:
          - {chat: {from: c}}
        """)
        XCTAssertEqual(e.count, 4, "\(e)")
        XCTAssertTrue(e[0].hasPrefix("t.yaml:2:"), "\(e)")
        XCTAssertTrue(e[1].hasPrefix("t.yaml:3:"), "\(e)")
        XCTAssertTrue(e[2].hasPrefix("t.yaml:5:"), "\(e)")
        XCTAssertTrue(e[3].hasPrefix("t.yaml:7:"), "\(e)")
    }

    /// Checks that were quadratic or cubic (duplicate keys, lookups by name, loops) are linear: a
    /// 20,000-server line and 100,000 expectations are read at once (the figure is in the README;
    /// the bound here only catches a return of the old algorithms, which took minutes).
    func testLargeTopologiesValidateQuicklyAndLoopsAreStillFound() throws {
        let started = Date()
        let line = TopologyGenerator.yaml(servers: 20_000, clients: 10, shape: .line)
        let t = try TopologyLoader.parse(line, file: "line.yaml")
        XCTAssertEqual(t.servers.count, 20_000)
        // Close the line into a loop: s1's upstream is the last server.
        let looped = line.replacingOccurrences(of: "  - {id: 1, name: s1, info: \"server 1\"}", with: "  - {id: 1, name: s1, info: \"server 1\", upstream: s20000}")
        let e = errors(looped)
        XCTAssertEqual(e.count, 1, "\(e.prefix(3))")
        XCTAssertTrue(e.first?.contains("loop in server links: s1 → s20000 → s19999") ?? false, "\(e.first ?? "")")
        var expect = "servers:\n  - {id: 1, name: a}\nexpect:\n"
        for i in 0..<100_000 { expect += "  a\(i): {hosts: []}\n" }
        XCTAssertEqual(errors(expect).count, 100_000)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
    }
}
