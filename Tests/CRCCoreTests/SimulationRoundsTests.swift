import CRCCore
import CRCProtocol
import XCTest

/// Large simulations deliver in rounds, each node's messages apart from the others', perhaps on
/// several threads: the network must end exactly as with one message at a time, whatever order
/// the pieces of a round run in.
final class SimulationRoundsTests: XCTestCase {
    func build(rounds: Bool, reversed: Bool = false) -> Simulation {
        var sim = Simulation()
        sim.recordsEvents = !rounds
        if reversed {
            sim.parallelFor = { n, body in for i in (0..<n).reversed() { body(i) } }
        }
        // A balanced tree of 120 servers, started all at once, then 150 clients at once.
        for i in 1...120 {
            sim.startServer(name: "s\(i)", id: UInt32(i), info: "server \(i)", upstream: i == 1 ? nil : "s\(i / 2)")
        }
        sim.settle()
        for i in 1...150 {
            sim.startClient(name: "c\(i)", id: UInt32(1000 + i), info: "client \(i)", server: "s\(1 + (i * 7) % 120)")
        }
        sim.settle()
        // Leaves and faults after: a quit, a stop in the middle of the tree, a kill at a leaf.
        sim.quit(client: "c3", text: "bye")
        sim.stopServer("s5")
        sim.killServer("s100")
        sim.settle()
        return sim
    }

    func testRoundsEndAsOneAtATime() {
        let one = build(rounds: false)
        XCTAssertEqual(one.rounds, 0)
        for reversed in [false, true] {
            let sim = build(rounds: true, reversed: reversed)
            XCTAssertGreaterThan(sim.rounds, 0, "large floods went in rounds")
            XCTAssertEqual(sim.delivered, one.delivered)
            XCTAssertEqual(Set(sim.servers.keys), Set(one.servers.keys))
            for (name, core) in one.servers {
                let other = sim.servers[name]!
                XCTAssertEqual(other.hosts, core.hosts, name)
                XCTAssertEqual(other.adjacentServers.keys.sorted(), core.adjacentServers.keys.sorted(), name)
                XCTAssertEqual(other.adjacentClients.keys.sorted(), core.adjacentClients.keys.sorted(), name)
                XCTAssertEqual(other.statusLog, core.statusLog, name)
            }
            for (name, state) in one.clients {
                XCTAssertEqual(sim.clients[name]!.users.keys.sorted(), state.users.keys.sorted(), name)
                XCTAssertEqual(sim.clients[name]!.statusLog, state.statusLog, name)
            }
        }
    }
}
