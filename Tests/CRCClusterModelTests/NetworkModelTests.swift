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

    func testAKilledServerThatComesBackTakesBackItsDownstreamServers() throws {
        var m = started(try tree())
        XCTAssertEqual(m.stop("rivendale", killed: true), ["elrond"])
        XCTAssertEqual(m.status["rivendale"], .killed)
        // Its downstream servers live on, alone, and keep their own clients.
        XCTAssertEqual(m.expectedServer("moria")?.hosts.keys.sorted(), [105])
        XCTAssertEqual(m.expectedServer("moria")?.adjacentServers, [])
        XCTAssertEqual(m.start("rivendale"), .live)
        // Back with the same id: rivendale rejoins theshire and lothlorien and moria rejoin it.
        XCTAssertEqual(m.expectedServer("rivendale")?.adjacentServers, [1, 4, 5])
        XCTAssertEqual(m.expectedServer("moria")?.hosts[7], 2)
        XCTAssertEqual(m.expectedClient("frodo")?.users, [102, 104, 105, 106, 107], "elrond was disconnected and is not back")
        XCTAssertEqual(m.start("elrond"), .live)
        XCTAssertEqual(m.expectedClient("frodo")?.users, [102, 103, 104, 105, 106, 107])
    }

    func testACutLinkSplitsTheTreeUntilHealed() throws {
        var m = started(try tree())
        m.cut("grey_havens")
        XCTAssertEqual(m.expectedServer("theshire")?.hosts.keys.sorted(), [2, 4, 5, 101, 102, 103, 104, 105])
        XCTAssertEqual(m.expectedServer("grey_havens")?.hosts.keys.sorted(), [6, 7, 106, 107])
        XCTAssertEqual(m.chat(from: "frodo", to: "aragorn", text: "?"), .unknownDestination(answeredBy: "theshire"))
        // Both ends stay up; a server below a cut link cannot be (re)started until it heals.
        XCTAssertTrue(m.isLive("grey_havens"))
        m.stop("grey_havens")
        XCTAssertEqual(m.start("grey_havens"), .disconnected)
        m.heal("grey_havens")
        XCTAssertEqual(m.start("grey_havens"), .live)
        XCTAssertEqual(m.expectedServer("edoras")?.hosts[1], 3)
        guard case .delivered(_, let hops) = m.chat(from: "frodo", to: "aragorn", text: "!") else { return XCTFail("not delivered") }
        XCTAssertEqual(hops.map(\.server), ["theshire", "grey_havens", "minastirith"])
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
