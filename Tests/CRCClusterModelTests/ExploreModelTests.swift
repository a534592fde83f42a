@testable import CRCCluster
import CRCExplore
import CRCProtocol
import NIOCore
import XCTest

/// The exploration's pure parts: strategies, replay by constraints, the exhaustive search with
/// its reduction, shrinking, budgets, and the relay's framing into held messages. The processes
/// are ExploreTests'.
final class ExploreModelTests: XCTestCase {
    /// A toy network: FIFO queues of events, each to a node. Running a strategy over it delivers
    /// every event, one head at a time, like the scheduler does; returns the order taken.
    struct Toy {
        var queues: [String: [(node: String, what: String)]]

        func run(_ strategy: inout some Strategy) -> [Choice] {
            var q = queues, taken: [Choice] = [], delivered: [String: Int] = [:]
            var age = 0
            var ages: [String: [Int]] = [:]
            for key in q.keys.sorted() { ages[key] = q[key]!.map { _ in age += 1; return age } }
            while q.values.contains(where: { !$0.isEmpty }) {
                let enabled = q.keys.sorted().compactMap { key -> Choice? in
                    guard let head = q[key]!.first else { return nil }
                    return Choice(kind: .deliver, key: key, node: head.node, age: ages[key]![delivered[key, default: 0]], what: head.what,
                                  ordinal: delivered[key, default: 0] + 1)
                }
                let pick = enabled[strategy.choose(enabled, step: taken.count)]
                taken.append(pick)
                q[pick.key]!.removeFirst()
                delivered[pick.key, default: 0] += 1
            }
            return taken
        }
    }

    func testTheDefaultOrderTakesTheOldestAndRandomWalksAreSeeded() {
        let toy = Toy(queues: ["a": [("x", "a1"), ("x", "a2")], "b": [("y", "b1")], "c": [("z", "c1"), ("z", "c2")]])
        var d = DefaultOrder()
        XCTAssertEqual(toy.run(&d).map(\.what), ["a1", "a2", "b1", "c1", "c2"], "oldest first: ages follow arrival")
        var r1 = RandomWalk(seed: 7), r2 = RandomWalk(seed: 7)
        XCTAssertEqual(toy.run(&r1).map(\.what), toy.run(&r2).map(\.what), "the same seed, the same schedule")
        let orders = Set((1...40).map { seed -> [String] in var r = RandomWalk(seed: UInt64(seed)); return toy.run(&r).map(\.what) })
        XCTAssertGreaterThan(orders.count, 10, "random walks should try many of the 30 interleavings")
        for order in orders {
            XCTAssertLessThan(order.firstIndex(of: "a1")!, order.firstIndex(of: "a2")!, "a queue's order is never changed")
            XCTAssertLessThan(order.firstIndex(of: "c1")!, order.firstIndex(of: "c2")!)
        }
    }

    func testPCTStarvesAQueueUntilAChangePoint() {
        // With depth 1 (no change points) PCT runs queues one after another, by priority.
        let toy = Toy(queues: ["a": [("x", "a1"), ("x", "a2"), ("x", "a3")], "b": [("y", "b1"), ("y", "b2"), ("y", "b3")]])
        for seed in 1...20 {
            var p = PCT(seed: UInt64(seed), depth: 1, length: 6)
            let order = toy.run(&p).map(\.what)
            XCTAssertTrue(order == ["a1", "a2", "a3", "b1", "b2", "b3"] || order == ["b1", "b2", "b3", "a1", "a2", "a3"], "\(order)")
        }
        var a = PCT(seed: 3, depth: 3, length: 6), b = PCT(seed: 3, depth: 3, length: 6)
        XCTAssertEqual(toy.run(&a).map(\.what), toy.run(&b).map(\.what), "seeded")
    }

    /// A reordered run, replayed through its constraints alone, takes the same decisions; and a
    /// constraint names events, so it still holds when earlier steps change.
    func testConstraintsReplayARunExactly() {
        let toy = Toy(queues: ["a": [("x", "a1"), ("x", "a2")], "b": [("y", "b1")], "c": [("x", "c1")]])
        for seed in 1...20 {
            var walk = RandomWalk(seed: UInt64(seed))
            let taken = toy.run(&walk)
            let constraints = decisions(taken, in: toy).compactMap(\.constraint)
            var replay = Constrained(constraints)
            XCTAssertEqual(toy.run(&replay).map(\.event), taken.map(\.event), "seed \(seed)")
        }
        // "c1 before a1" alone: everything else in the default order.
        var one = Constrained([Constraint(first: "c 1", what: "c1", then: ["a 1"], thenWhat: ["a1"])])
        XCTAssertEqual(toy.run(&one).map(\.what), ["b1", "c1", "a1", "a2"])
    }

    /// The decisions the scheduler would record for `order`: reordered where it did not take the oldest.
    func decisions(_ order: [Choice], in toy: Toy) -> [Decision] {
        var out: [Decision] = []
        var recorder = Recorder(order: order.map(\.event)) { enabled, pick in
            let oldest = enabled.min { $0.age < $1.age }!
            let reordered = pick.event != oldest.event
            let older = enabled.filter { $0.age < pick.age }
            out.append(Decision(kind: pick.kind, key: pick.key, what: pick.what, reordered: reordered, choices: enabled.count,
                                event: pick.event, passed: reordered ? older.map(\.event) : nil, passedWhat: reordered ? older.map(\.what) : nil))
        }
        _ = toy.run(&recorder)
        return out
    }

    struct Recorder: Strategy {
        let order: [String]
        let note: ([Choice], Choice) -> Void
        init(order: [String], note: @escaping ([Choice], Choice) -> Void) { self.order = order; self.note = note }
        mutating func choose(_ enabled: [Choice], step: Int) -> Int {
            let i = enabled.firstIndex { $0.event == order[step] }!
            note(enabled, enabled[i])
            return i
        }
    }

    /// Exhaustive search: every interleaving when deliveries go to one node; one schedule per
    /// equivalence class when they go to different nodes (they commute).
    func testExhaustiveSearchIsCompleteAndReducesCommutingDeliveries() {
        func explore(_ toy: Toy) -> Set<[String]> {
            var search = FewestReorderingsFirst(), seen = Set<[String]>(), runs = 0, levels: [Int] = []
            while let (p, k) = search.nextPrefix(), runs < 1000 {
                var s = PrefixThenDefault(prefix: p)
                XCTAssertTrue(seen.insert(toy.run(&s).map(\.what)).inserted, "no schedule is run twice")
                search.record(s, reorderings: k)
                levels.append(k)
                runs += 1
            }
            XCTAssertLessThan(runs, 1000, "the search must end")
            XCTAssertEqual(levels, levels.sorted(), "fewest reorderings first")
            return seen
        }
        // Two queues of two to the same node: C(4,2) = 6 interleavings, all of them.
        let same = explore(Toy(queues: ["a": [("x", "a1"), ("x", "a2")], "b": [("x", "b1"), ("x", "b2")]]))
        XCTAssertEqual(same.count, 6, "\(same)")
        // To different nodes every interleaving is equivalent: far fewer than 6 are run.
        let apart = explore(Toy(queues: ["a": [("x", "a1"), ("x", "a2")], "b": [("y", "b1"), ("y", "b2")]]))
        XCTAssertLessThan(apart.count, 6, "\(apart)")
        XCTAssertGreaterThanOrEqual(apart.count, 1)
        // Mixed: a and c to x (their order matters), b to y.
        let mixed = explore(Toy(queues: ["a": [("x", "a1")], "b": [("y", "b1")], "c": [("x", "c1")]]))
        let xOrders = Set(mixed.map { $0.filter { $0 != "b1" } })
        XCTAssertEqual(xOrders, [["a1", "c1"], ["c1", "a1"]], "both orders of the dependent pair are explored")
        XCTAssertLessThan(mixed.count, 6)
    }

    func testDeltaDebuggingFindsTheFewestThatFail() {
        var asked = 0
        let culprits: Set<Int> = [3, 11]
        let found = ddmin(Array(0..<16)) { subset -> Bool? in
            asked += 1
            return culprits.isSubset(of: subset)
        }
        XCTAssertEqual(Set(found), culprits)
        XCTAssertLessThanOrEqual(asked, 64, "ddmin should need about k·log(n) tests here, not the subsets of 16")
        XCTAssertEqual(ddmin([1, 2, 3]) { $0.contains(2) }, [2])
        // Out of budget: the smallest failing set found so far.
        var left = 2
        let partial = ddmin(Array(0..<8)) { subset -> Bool? in
            guard left > 0 else { return nil }
            left -= 1
            return subset.contains(5)
        }
        XCTAssertTrue(partial.contains(5))
        XCTAssertLessThan(partial.count, 8)
    }

    func testBudgetsReadAsRunsOrTime() {
        XCTAssertEqual(Budget("200"), .runs(200))
        XCTAssertEqual(Budget("30s"), .seconds(30))
        XCTAssertEqual(Budget("2m"), .seconds(120))
        XCTAssertEqual(Budget("1m30s"), .seconds(90))
        for bad in ["", "0", "-3", "2x", "m", "3s4", "fast"] { XCTAssertNil(Budget(bad), bad) }
    }

    func testScheduleFilesRoundTripAndDigestsTellSchedulesApart() throws {
        let d = Decision(kind: .deliver, key: "s2#1↑", what: "server registration of 2", reordered: true, choices: 2,
                         event: "s2#1↑ 1", passed: ["c#1↑ 1"], passedWhat: ["client registration of 101"])
        let s = Schedule(scenario: "x.yaml", strategy: "pct", seed: 9, command: ["python3", "s.py"], decisions: [d], failure: "final state: …")
        XCTAssertEqual(s.reorderings, 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(UUID()).json")
        try s.json().write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let back = try Schedule.load(file.path)
        XCTAssertEqual(back.decisions, [d])
        XCTAssertEqual(back.constraints, s.constraints)
        XCTAssertEqual(back.command, ["python3", "s.py"])
        var other = d
        other.key = "c#1↑"
        XCTAssertNotEqual(Schedule.digest([d, other]), Schedule.digest([other, d]))
        try Data("{}".utf8).write(to: file)
        XCTAssertThrowsError(try Schedule.load(file.path)) { XCTAssertTrue("\($0)".contains("not a schedule written by crc-cluster explore"), "\($0)") }
    }

    /// The relay holds each message with its own bytes, however the stream was cut.
    func testTheFramerSplitsAStreamIntoEachMessagesBytes() {
        var bytes = ByteBuffer()
        let a = Message.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: ByteBuffer(string: "hello")))
        let b = Message.clientQuit(ClientQuit(sourceID: 101, text: ByteBuffer(string: "bye")))
        _ = bytes.writeCRCMessage(a)
        _ = bytes.writeCRCMessage(b)
        let all = Array(bytes.readableBytesView)
        for cut in 1..<all.count {
            var framer = WireFramer()
            let parts = framer.split(ByteBuffer(bytes: all[..<cut])) + framer.split(ByteBuffer(bytes: all[cut...]))
            XCTAssertEqual(parts.count, 2, "cut at \(cut)")
            XCTAssertEqual(parts.flatMap { Array($0.1.readableBytesView) }, all, "the bytes pass unchanged, cut at \(cut)")
            if case .message(let m) = parts.first?.0 { XCTAssertEqual(m, a) } else { XCTFail("cut at \(cut)") }
        }
        var framer = WireFramer()
        let junk = framer.split(ByteBuffer(bytes: [0x7f, 1, 2]))
        XCTAssertEqual(junk.count, 1)
        if case .undecodable = junk[0].0 {} else { XCTFail("not CRC") }
        XCTAssertEqual(framer.split(ByteBuffer(bytes: [9, 9])).map { Array($0.1.readableBytesView) }, [[9, 9]], "after junk, bytes pass as they come")
    }
    /// A raced chat is judged by what its sender's server had been told when the chat reached it,
    /// in the wire's order: the destination's registration delivered to it (and no quit since).
    func testARacedChatMeetsWhatItsSendersServerKnew() {
        let t = Topology(servers: [ServerSpec(id: 1, name: "hub"), ServerSpec(id: 2, name: "leaf", upstream: "hub")],
                         clients: [ClientSpec(id: 101, name: "ann", server: "hub"), ClientSpec(id: 102, name: "bob", server: "leaf")])
        let chat = ChatRecord(from: "ann", sourceID: 101, to: "bob", destinationID: 102, text: "hi",
                              outcome: .delivered(to: "bob", hops: [("hub", 2), ("leaf", 102)]))
        func record(_ link: String, _ d: WireDirection, _ m: Message) -> WireRecord {
            WireRecord(time: 0, link: link, connection: 1, direction: d, event: .message(m))
        }
        let bobUp = record("leaf", .up, .clientRegistration(Registration(sourceID: 102, lastHopID: 2, name: "bob", info: "")))
        let bobAtLeaf = record("bob", .up, .clientRegistration(Registration(sourceID: 102, lastHopID: 0, name: "bob", info: "")))
        let chatUp = record("ann", .up, .clientChat(ClientChat(sourceID: 101, destinationID: 102, text: ByteBuffer(string: "hi"))))
        let quit = record("leaf", .up, .clientQuit(ClientQuit(sourceID: 102, text: "bye")))
        func known(_ records: [WireRecord], at server: String = "hub") -> Bool? {
            ChatRaces.destinationKnown(chat, at: server, records: records, topology: t)
        }
        XCTAssertEqual(known([bobAtLeaf, bobUp, chatUp]), true, "told before the chat came")
        XCTAssertEqual(known([bobAtLeaf, chatUp, bobUp]), false, "the chat came first: Unknown ID is right")
        XCTAssertEqual(known([bobAtLeaf, chatUp]), false, "bob's registration reached leaf, not hub")
        XCTAssertEqual(known([bobAtLeaf, bobUp, quit, chatUp]), false, "bob quit before the chat came")
        XCTAssertNil(known([bobAtLeaf, bobUp]), "the chat never reached hub")
        XCTAssertNil(known([bobAtLeaf, bobUp, chatUp], at: "leaf"), "leaf never got the chat from ann")
        var later = chat
        later.fromRecord = 3
        XCTAssertNil(ChatRaces.destinationKnown(later, at: "hub", records: [bobAtLeaf, bobUp, chatUp], topology: t),
                     "a chat sent after record 3 is not an earlier one with the same text")
    }
}
