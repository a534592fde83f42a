import CRCCluster
import CRCCore
import XCTest

/// The short expectations `simulate` checks networks of thousands against must say exactly what
/// the full model says, through starts, stops, kills, cuts and refusals; and a table that differs
/// in one first link must not pass.
final class ModelScaleTests: XCTestCase {
    func assertSummariesAgree(_ m: NetworkModel, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let servers = m.expectedServerSummaries()
        XCTAssertEqual(Set(servers.keys), Set(m.liveServers), label, file: file, line: line)
        for name in m.liveServers {
            let full = m.expectedServer(name)!
            let short = servers[name]!
            XCTAssertEqual(short.hosts, full.hosts.count, "\(label) \(name)", file: file, line: line)
            XCTAssertEqual(short.fingerprint, Fingerprint.sum(full.hosts.map { Fingerprint.pair($0.key, $0.value) }),
                           "\(label) \(name)", file: file, line: line)
            XCTAssertEqual(short.adjacentServers, full.adjacentServers, "\(label) \(name)", file: file, line: line)
            XCTAssertEqual(short.adjacentClients, full.adjacentClients, "\(label) \(name)", file: file, line: line)
        }
        let users = m.expectedUserSummaries()
        for c in m.topology.clients {
            guard let full = m.expectedClient(c.name) else {
                XCTAssertNil(users[c.name], "\(label) \(c.name)", file: file, line: line)
                continue
            }
            XCTAssertEqual(users[c.name], .init(users: full.users.count, fingerprint: Fingerprint.sum(full.users.map { UInt64($0) })),
                           "\(label) \(c.name)", file: file, line: line)
            XCTAssertEqual(m.expectedClientLogs(c.name)?.statusLog, full.statusLog, file: file, line: line)
            XCTAssertEqual(m.expectedClientLogs(c.name)?.chatLog, full.chatLog, file: file, line: line)
        }
    }

    func testSummariesAgreeWithTheFullModelThroughFaults() throws {
        for shape in Shape.allCases {
            let t = try TopologyLoader.parse(TopologyGenerator.yaml(servers: 40, clients: 60, shape: shape, seed: 7), file: "gen")
            var m = NetworkModel(topology: t)
            for s in t.servers { m.start(s.name) }
            for c in t.clients { m.start(c.name) }
            assertSummariesAgree(m, "\(shape) started")
            // A server in the middle stops: the tree splits into parts, its clients go.
            let middle = t.servers[t.servers.count / 2].name
            m.stop(middle)
            assertSummariesAgree(m, "\(shape) stopped \(middle)")
            m.cut(t.servers[3].name)
            m.quit(t.clients[5].name)
            assertSummariesAgree(m, "\(shape) cut and quit")
            m.start(middle)
            m.heal(t.servers[3].name)
            assertSummariesAgree(m, "\(shape) back")
        }
        // Duplicate ids: a refused client expects nobody.
        for file in ["topologies/conformance", "topologies/seed"] {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            for f in try ScenarioRunner.expand([root.appendingPathComponent(file).path]) {
                let t = try TopologyLoader.load(path: f)
                var m = NetworkModel(topology: t)
                for s in t.servers where s.start ?? true { m.start(s.name) }
                for c in t.clients where c.start ?? true { m.start(c.name) }
                assertSummariesAgree(m, f)
            }
        }
    }

    func testSimulateFailsTablesThatDifferFromTheModel() throws {
        // The model is told of a cut the simulation never saw: every table across the cut is now
        // wrong, and the short check must catch it and name the entries.
        let t = try TopologyLoader.parse(TopologyGenerator.yaml(servers: 30, clients: 30, shape: .balanced), file: "gen")
        let cut = t.servers[1].name
        let clean = try SimulationRunner.run(t)
        XCTAssertEqual(clean.differences.map(\.description), [])
        let r = try SimulationRunner.run(t, beforeChecking: { $0.cut(cut) })
        let servers = Set(r.differences.filter { $0.field == .hosts }.map(\.node))
        XCTAssertEqual(servers, Set(t.servers.map(\.name)), "every server lost or kept hosts across the cut")
        XCTAssertTrue(r.differences.contains { $0.node == cut && $0.field == .adjacentServers }, "\(r.differences.prefix(5))")
        XCTAssertTrue(r.differences.contains { $0.field == .users }, "clients see users across the cut")
        // One first link wrong, nothing missing: the fingerprint still tells.
        var m = NetworkModel(topology: t)
        for x in t.servers { m.start(x.name) }
        for c in t.clients { m.start(c.name) }
        let name = m.liveServers[4]
        var table = m.expectedServer(name)!.hosts
        let (host, link) = table.first { $0.value != $0.key }!
        table[host] = link + 1
        XCTAssertNotEqual(Fingerprint.sum(table.map { Fingerprint.pair($0.key, $0.value) }),
                          m.expectedServerSummaries()[name]!.fingerprint)
    }
}
