import CRCCluster
import XCTest

/// The rules of "converged", without processes: planted differences are each reported, and a
/// faithful observation yields none.
final class ConvergenceCheckerTests: XCTestCase {
    func model() throws -> NetworkModel {
        let t = try TopologyLoader.parse("""
        servers:
          - {id: 1, name: a}
          - {id: 2, name: b, upstream: a}
        clients:
          - {id: 101, name: x, server: a}
          - {id: 102, name: y, server: b}
        """, file: "t.yaml")
        var m = NetworkModel(topology: t)
        for n in ["a", "b", "x", "y"] { _ = m.start(n) }
        return m
    }

    func testAFaithfulServerObservationHasNoDifferences() throws {
        let m = try model()
        let want = try XCTUnwrap(m.expectedServer("a"))
        let seen = ConvergenceChecker.ServerObservation(hosts: want.hosts, adjacentServers: want.adjacentServers,
                                                        adjacentClients: want.adjacentClients, statusLog: want.statusLog,
                                                        firstMessages: m.expectedFirstMessages("a"))
        XCTAssertEqual(ConvergenceChecker.diff(server: "a", expected: want, firstMessages: m.expectedFirstMessages("a"), observed: seen), [])
    }

    func testEveryPlantedServerDifferenceIsReported() throws {
        let m = try model()
        let want = try XCTUnwrap(m.expectedServer("b"))
        var hosts = want.hosts
        hosts[101] = 999          // wrong first link
        hosts[102] = nil          // a host missing
        hosts[555] = 1            // a host that does not exist
        let seen = ConvergenceChecker.ServerObservation(hosts: hosts, adjacentServers: [1, 7], adjacentClients: want.adjacentClients,
                                                        statusLog: ["stray"], firstMessages: [])
        let d = ConvergenceChecker.diff(server: "b", expected: want, firstMessages: [], observed: seen).map(\.description)
        XCTAssertEqual(d, [
            "b hosts: missing 102; extra 555",
            "b first_link[101]: expected 1, found 999",
            "b adjacent_servers: extra 7",
            "b status_log: extra \"stray\"",
        ])
    }

    func testHandWrittenExpectationsReplaceTheDerivedOnes() throws {
        let m = try model()
        let want = try XCTUnwrap(m.expectedServer("a"))
        let seen = ConvergenceChecker.ServerObservation(hosts: want.hosts, adjacentServers: want.adjacentServers,
                                                        adjacentClients: want.adjacentClients, statusLog: [], firstMessages: m.expectedFirstMessages("a"))
        var override = NodeExpectation()
        override.hosts = [2, 101, 102, 999]
        override.statusLog = ["hello"]
        let d = ConvergenceChecker.diff(server: "a", expected: want, firstMessages: m.expectedFirstMessages("a"),
                                        override: override, observed: seen).map(\.description)
        XCTAssertEqual(d, ["a hosts: missing 999", "a status_log: missing \"hello\""])
    }

    func testClientDifferencesAndOrder() throws {
        let m = try model()
        let want = try XCTUnwrap(m.expectedClient("x"))
        XCTAssertEqual(ConvergenceChecker.diff(client: "x", expected: want, observed: .init(users: want.users, statusLog: want.statusLog, chatLog: [])), [])
        var ordered = want
        ordered.chatLog = ["one", "two"]
        let d = ConvergenceChecker.diff(client: "x", expected: ordered, observed: .init(users: [], statusLog: want.statusLog, chatLog: ["two", "one"]))
        XCTAssertEqual(d.map(\.description), ["x users: missing 102", "x chat_log: same entries in another order: [\"two\", \"one\"]"])
    }
}
