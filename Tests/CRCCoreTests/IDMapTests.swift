import CRCCore
import CRCProtocol
import XCTest

/// The compact table every server keeps of every machine: it must behave exactly as a dictionary
/// through any mix of inserts and removals (removals move entries and shift probe runs).
final class IDMapTests: XCTestCase {
    func testRandomInsertsAndRemovalsAgreeWithADictionary() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var map = IDMap<Int>()
            var reference: [UInt32: Int] = [:]
            var flags: [UInt32: Bool] = [:]
            // Small id ranges make collisions and long probe runs; large ones spread out.
            let range: UInt32 = round % 2 == 0 ? 64 : 1_000_000
            for step in 0..<5_000 {
                let id = UInt32.random(in: 0..<range, using: &rng)
                if Bool.random(using: &rng) {
                    XCTAssertEqual(map.insert(id, step, flag: step % 3 == 0), reference[id] == nil)
                    if reference[id] == nil { reference[id] = step; flags[id] = step % 3 == 0 }
                } else if step % 5 == 0 {
                    let removed = map.removeEntry(forKey: id)
                    XCTAssertEqual(removed?.value, reference.removeValue(forKey: id))
                    XCTAssertEqual(removed?.flag, flags.removeValue(forKey: id))
                } else {
                    XCTAssertEqual(map.removeValue(forKey: id), reference.removeValue(forKey: id))
                    flags.removeValue(forKey: id)
                }
                XCTAssertEqual(map.count, reference.count)
            }
            for (id, v) in reference {
                XCTAssertEqual(map[id], v)
                XCTAssertEqual(map.flag(of: id), flags[id], "the flag of \(id) did not move with its entry")
            }
            var flagged = map.makeFlaggedIterator()
            var seen = 0
            while let e = flagged.next() {
                XCTAssertEqual(e.value, reference[e.key])
                XCTAssertEqual(e.flag, flags[e.key])
                seen += 1
            }
            XCTAssertEqual(seen, reference.count)
            for id in 0..<min(range, 2_000) where reference[id] == nil { XCTAssertNil(map[id]) }
            XCTAssertEqual(Set(map.keys), Set(reference.keys))
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: Array(map)), reference)
        }
    }

    func testEmptyingAndRefillingKeepsEveryEntryFindable() {
        var map = IDMap<UInt32>()
        for id in UInt32(1)...10_000 { map.insert(id * 7919, id) }
        for id in stride(from: UInt32(1), through: 10_000, by: 2) { XCTAssertEqual(map.removeValue(forKey: id * 7919), id) }
        for id in UInt32(1)...10_000 { XCTAssertEqual(map[id * 7919], id % 2 == 0 ? id : nil) }
        for id in UInt32(1)...10_000 { map.removeValue(forKey: id * 7919) }
        XCTAssertTrue(map.isEmpty)
        XCTAssertTrue(map.insert(5, 5))
        XCTAssertEqual(map[5], 5)
    }

    func testHostTablesShareOneDetailsObjectAcrossANetwork() {
        // Names and infos are kept once: every server's entry for a client refers to the very
        // object of that client's registration.
        var sim = Simulation()
        sim.startServer(name: "a", id: 1, info: "")
        sim.startServer(name: "b", id: 2, info: "", upstream: "a")
        sim.startServer(name: "c", id: 3, info: "", upstream: "b")
        sim.settle()
        sim.startClient(name: "u", id: 10, info: "an info long enough not to be inline", server: "c")
        sim.settle()
        // A server's entry is one 16-byte slot: the shared details and the first link (the kind
        // is a bit beside it).
        XCTAssertEqual(HostTable.bytesPerSlot, 16)
        XCTAssertEqual(sim.server(named: "a")?.hosts[10]?.kind, .client)
        XCTAssertEqual(sim.server(named: "a")?.hosts[3]?.kind, .server)
        let a = try! XCTUnwrap(sim.server(named: "a")?.hosts[10]?.details)
        let b = try! XCTUnwrap(sim.server(named: "b")?.hosts[10]?.details)
        XCTAssertTrue(a === b)
        XCTAssertEqual(a.info.utf8String, "an info long enough not to be inline")
        // The fingerprint is the digest the monitor reports.
        let core = sim.server(named: "a")!
        XCTAssertEqual(String(core.hosts.fingerprint, radix: 16), hostsDigest(core.hosts.map { ($0.id, $0.firstLink) }))
    }
}
