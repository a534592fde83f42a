import CRCCluster
import XCTest

final class NetworkModelTests: XCTestCase {
    func tree() throws -> Topology {
        try TopologyLoader.load(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("topologies/tree.yaml").path)
    }

    func started(_ t: Topology) -> NetworkModel {
        var m = NetworkModel(topology: t)
        for s in t.servers { m.start(s.name) }
        for c in t.clients { m.start(c.name) }
        return m
    }

    func testRoutingTablesFollowTheTree() throws {
        let m = started(try tree())
        let rivendale = try XCTUnwrap(m.expectedServer("rivendale"))
        // rivendale reaches minastirith (7) and aragorn (107) through theshire (1).
        XCTAssertEqual(rivendale.hosts[7], 1)
        XCTAssertEqual(rivendale.hosts[107], 1)
        XCTAssertEqual(rivendale.hosts[104], 4)   // galadriel via lothlorien
        XCTAssertEqual(rivendale.hosts[103], 103) // its own client
        XCTAssertEqual(rivendale.hosts.count, 13)
        XCTAssertEqual(rivendale.adjacentServers, [1, 4, 5])
        XCTAssertEqual(rivendale.adjacentClients, [103])
        XCTAssertEqual(m.expectedClient("frodo")?.users, [102, 103, 104, 105, 106, 107])
    }

    func testChatPathIsTheTreePathWithNextHops() throws {
        var m = started(try tree())
        guard case .delivered(let to, let hops) = m.chat(from: "gimli", to: "aragorn", text: "hi") else {
            return XCTFail("not delivered")
        }
        XCTAssertEqual(to, "aragorn")
        XCTAssertEqual(hops.map(\.server), ["moria", "rivendale", "theshire", "grey_havens", "minastirith"])
        XCTAssertEqual(hops.map(\.nextHop), [2, 1, 3, 7, 107])
        XCTAssertEqual(m.expectedClient("aragorn")?.chatLog, ["hi"])
        XCTAssertEqual(m.chat(from: "frodo", to: "999", text: "?"), .unknownDestination(answeredBy: "theshire"))
        XCTAssertEqual(m.expectedClient("frodo")?.statusLog.last, "Unknown ID 999")
    }

    func testStoppingAnInteriorServerSplitsTheNetwork() throws {
        var m = started(try tree())
        XCTAssertEqual(m.stop("rivendale"), ["elrond"])
        XCTAssertEqual(m.expectedServer("theshire")?.hosts.keys.sorted(), [3, 6, 7, 101, 102, 106, 107])
        XCTAssertEqual(m.expectedServer("lothlorien")?.hosts.keys.sorted(), [104])
        XCTAssertEqual(m.expectedClient("galadriel")?.users, [])
        XCTAssertEqual(m.chat(from: "frodo", to: "104", text: "?"), .unknownDestination(answeredBy: "theshire"))
    }

    func testDuplicatesAreRefusedOnlyWithinTheComponent() throws {
        let t = try TopologyLoader.parse("""
        servers:
          - {id: 1, name: a}
          - {id: 2, name: b, upstream: a}
          - {id: 2, name: c, upstream: a, refused: true}
        clients:
          - {id: 9, name: x, server: a}
          - {id: 9, name: y, server: b, refused: true}
        """, file: "t")
        var m = NetworkModel(topology: t)
        XCTAssertEqual(m.start("a"), .live)
        XCTAssertEqual(m.start("b"), .live)
        XCTAssertEqual(m.start("c"), .refused)
        XCTAssertEqual(m.start("x"), .live)
        XCTAssertEqual(m.start("y"), .refused)
        XCTAssertEqual(m.expectedClient("y")?.statusLog, ["Someone has already registered with ID 9"])
        XCTAssertEqual(m.expectedFirstMessages("a").count, 1, "only b's link, not the refused one")
    }
}
