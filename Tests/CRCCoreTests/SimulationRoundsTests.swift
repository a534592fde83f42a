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
        // A client back with c3's id and another name; a client claiming a server's id, and one
        // claiming a client's: their entries are not the numbered hosts' (HostDirectory).
        sim.startClient(name: "c3-again", id: 1003, info: "another", server: "s60")
        sim.startClient(name: "impostor", id: 7, info: "not server 7", server: "s90")
        sim.startClient(name: "twin", id: 1010, info: "not c10", server: "s33")
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
            var byNumber = 0, all = 0
            for (name, core) in one.servers {
                let other = sim.servers[name]!
                byNumber += other.hosts.countByNumber
                all += other.hosts.count
                XCTAssertEqual(core.hosts.countByNumber, 0, "a network that records events keeps no numbers")
                XCTAssertEqual(other.hosts, core.hosts, name)
                XCTAssertEqual(other.adjacentServers.keys.sorted(), core.adjacentServers.keys.sorted(), name)
                XCTAssertEqual(other.adjacentClients.keys.sorted(), core.adjacentClients.keys.sorted(), name)
                XCTAssertEqual(other.statusLog, core.statusLog, name)
            }
            XCTAssertGreaterThan(byNumber, all * 9 / 10, "most entries are kept by number")
            XCTAssertLessThan(byNumber, all, "c3-again's entries are not")
            for (name, state) in one.clients {
                XCTAssertEqual(sim.clients[name]!.users.values.sorted { $0.id < $1.id }, state.users.values.sorted { $0.id < $1.id }, name)
                XCTAssertEqual(sim.clients[name]!.statusLog, state.statusLog, name)
            }
        }
    }
}
