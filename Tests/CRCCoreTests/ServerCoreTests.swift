import CRCCore
import CRCProtocol
import XCTest

final class ServerCoreTests: XCTestCase {
    /// 1 ← 2 ← 4, 1 ← 3, with clients 101 on 1, 102 on 4, 103 on 3.
    func smallTree(sendsServerQuit: Bool = true) -> Simulation {
        var sim = Simulation()
        sim.startServer(name: "s1", id: 1, info: "", sendsServerQuit: sendsServerQuit)
        sim.startServer(name: "s2", id: 2, info: "", upstream: "s1", sendsServerQuit: sendsServerQuit)
        sim.startServer(name: "s3", id: 3, info: "", upstream: "s1", sendsServerQuit: sendsServerQuit)
        sim.startServer(name: "s4", id: 4, info: "", upstream: "s2", sendsServerQuit: sendsServerQuit)
        sim.startClient(name: "u101", id: 101, info: "", server: "s1")
        sim.startClient(name: "u102", id: 102, info: "", server: "s4")
        sim.startClient(name: "u103", id: 103, info: "", server: "s3")
        sim.settle()
        return sim
    }

    func testUnknownDestinationIsAnsweredByTheServerThatFindsItAndRoutedBack() {
        var sim = smallTree()
        sim.chat(from: "u102", to: 999, text: "anyone?")
        sim.settle()
        // Server 4 itself does not know 999, so it answers; the status is addressed to 102.
        XCTAssertEqual(sim.clients["u102"]?.statusLog.last, "Unknown ID 999")
        XCTAssertEqual(sim.servers["s4"]?.statusLog, [])
    }

    func testClientQuitIsNotEchoedAndEveryoneForgets() {
        var sim = smallTree()
        sim.quit(client: "u102", text: "bye")
        for (sid, core) in sim.servers { XCTAssertNil(core.hosts[102], "server \(sid)") }
        XCTAssertEqual(sim.clients["u101"]?.users.keys.sorted(), [103])
        XCTAssertEqual(sim.clients["u103"]?.users.keys.sorted(), [101])
        // Server 4 received the quit from 102 and must not send it back: its log has no forward to 102.
        let forwards = sim.serverLogs["s4"]!.compactMap { e -> [UInt32]? in
            if case .forwarded(.clientQuit, 102, let to) = e { return to } else { return nil }
        }
        XCTAssertEqual(forwards, [[2]])
    }

    func testGracefulServerStopMakesSurvivorsForgetEverythingBehindIt() {
        var sim = smallTree()
        sim.stopServer("s2")
        XCTAssertEqual(sim.servers["s1"]?.hosts.keys.sorted(), [3, 101, 103])
        XCTAssertEqual(sim.servers["s3"]?.hosts.keys.sorted(), [1, 101, 103])
        // Server 4 lost its upstream: it keeps only what it still reaches.
        XCTAssertEqual(sim.servers["s4"]?.hosts.keys.sorted(), [102])
        XCTAssertEqual(sim.clients["u101"]?.users.keys.sorted(), [103])
        XCTAssertEqual(sim.clients["u102"]?.users.keys.sorted(), [])
        XCTAssertTrue(sim.clientEvents["u103"]!.contains { if case .userLeft(102, _, _) = $0 { return true } else { return false } })
    }

    func testCrashedServerIsDetectedThroughItsClosedLinks() {
        var sim = smallTree()
        sim.killServer("s1")
        XCTAssertEqual(sim.servers["s2"]?.hosts.keys.sorted(), [4, 102])
        XCTAssertEqual(sim.servers["s3"]?.hosts.keys.sorted(), [103])
        XCTAssertEqual(sim.clients["u103"]?.users.keys.sorted(), [])
        // Both halves keep relaying.
        sim.startClient(name: "u104", id: 104, info: "", server: "s2")
        sim.settle()
        sim.chat(from: "u104", to: 102, text: "still here")
        sim.settle()
        XCTAssertEqual(sim.clients["u102"]?.chatLog.last?.text, "still here")
    }

    func testRefusedDuplicateLinkNeverSpeaksForTheRealHolder() {
        var sim = smallTree()
        sim.startClient(name: "impostor", id: 101, info: "", server: "s3")
        sim.settle()
        XCTAssertEqual(sim.servers["s1"]?.hosts[101]?.name, "u101")
        sim.chat(from: "u101", to: 103, text: "real")
        sim.settle()
        XCTAssertEqual(sim.clients["u103"]?.chatLog.last, ChatEntry(from: 101, text: "real"))
    }

    /// A server with client 101 on link 1 and client 102 on link 2.
    func twoAdjacentClients() -> ServerCore {
        var core = ServerCore(id: 1, name: "a", info: "")
        var actions: [Action] = []
        core.linkOpened(LinkID(1), outbound: false, into: &actions)
        core.linkOpened(LinkID(2), outbound: false, into: &actions)
        core.receive(.clientRegistration(Registration(sourceID: 101, lastHopID: 0, name: "x", info: "")), on: LinkID(1), into: &actions)
        core.receive(.clientRegistration(Registration(sourceID: 102, lastHopID: 0, name: "y", info: "")), on: LinkID(2), into: &actions)
        return core
    }

    func testSpoofedChatFromAClientLinkIsDropped() {
        var core = twoAdjacentClients()
        var actions: [Action] = []
        core.receive(.clientChat(ClientChat(sourceID: 102, destinationID: 101, text: "spoof")), on: LinkID(1), into: &actions)
        XCTAssertFalse(actions.contains { if case .send = $0 { return true } else { return false } })
    }

    func testAClientLinkCannotAnnounceOtherHostsOrQuitForThem() {
        var core = twoAdjacentClients()
        var actions: [Action] = []
        core.receive(.serverRegistration(Registration(sourceID: 7, lastHopID: 101, name: "fake", info: "")), on: LinkID(1), into: &actions)
        core.receive(.clientRegistration(Registration(sourceID: 103, lastHopID: 101, name: "fake", info: "")), on: LinkID(1), into: &actions)
        core.receive(.clientQuit(ClientQuit(sourceID: 102, text: "spoofed")), on: LinkID(1), into: &actions)
        XCTAssertEqual(core.hosts.keys.sorted(), [101, 102], "nothing announced, nobody forgotten")
        XCTAssertFalse(actions.contains { if case .send = $0 { return true } else { return false } }, "nothing relayed")
        XCTAssertEqual(actions.filter { if case .log(.dropped) = $0 { return true } else { return false } }.count, 3)
    }

    /// Servers 2 (link 1) and 3 (link 2) are adjacent; server 5 and client 105 are behind 3.
    func twoAdjacentServers() -> ServerCore {
        var core = ServerCore(id: 1, name: "a", info: "")
        var actions: [Action] = []
        core.linkOpened(LinkID(1), outbound: false, into: &actions)
        core.linkOpened(LinkID(2), outbound: false, into: &actions)
        core.receive(.serverRegistration(Registration(sourceID: 2, lastHopID: 0, name: "b", info: "")), on: LinkID(1), into: &actions)
        core.receive(.serverRegistration(Registration(sourceID: 3, lastHopID: 0, name: "c", info: "")), on: LinkID(2), into: &actions)
        core.receive(.serverRegistration(Registration(sourceID: 5, lastHopID: 3, name: "e", info: "")), on: LinkID(2), into: &actions)
        core.receive(.clientRegistration(Registration(sourceID: 105, lastHopID: 3, name: "u", info: "")), on: LinkID(2), into: &actions)
        return core
    }

    func testAServerLinkCannotClaimOrQuitHostsBehindAnotherLink() {
        var core = twoAdjacentServers()
        let before = core.hosts
        var actions: [Action] = []
        // Server 2 re-announces hosts known through 3 (the duplicate rule) ...
        core.receive(.serverRegistration(Registration(sourceID: 5, lastHopID: 2, name: "fake", info: "")), on: LinkID(1), into: &actions)
        core.receive(.clientRegistration(Registration(sourceID: 105, lastHopID: 2, name: "fake", info: "")), on: LinkID(1), into: &actions)
        XCTAssertEqual(core.hosts, before, "the real holders keep their names and first links")
        XCTAssertTrue(actions.contains { if case .log(.duplicateRefused(5, _, _)) = $0 { return true } else { return false } })
        XCTAssertTrue(actions.contains { if case .log(.duplicateRefused(105, _, _)) = $0 { return true } else { return false } })
        // ... and quits for them, and chats in their name: all dropped, nothing relayed.
        actions.removeAll()
        core.receive(.serverQuit(ServerQuit(sourceID: 5, replacementID: 0, text: "spoofed")), on: LinkID(1), into: &actions)
        core.receive(.clientQuit(ClientQuit(sourceID: 105, text: "spoofed")), on: LinkID(1), into: &actions)
        core.receive(.clientChat(ClientChat(sourceID: 105, destinationID: 3, text: "spoofed")), on: LinkID(1), into: &actions)
        XCTAssertEqual(core.hosts, before, "nobody forgotten")
        XCTAssertFalse(actions.contains { if case .send = $0 { return true } else { return false } }, "nothing relayed")
        XCTAssertEqual(actions.filter { if case .log(.dropped) = $0 { return true } else { return false } }.count, 3)
        // The same quit through the right link is honoured.
        actions.removeAll()
        core.receive(.serverQuit(ServerQuit(sourceID: 5, replacementID: 0, text: "bye")), on: LinkID(2), into: &actions)
        XCTAssertNil(core.hosts[5])
    }

    func testLargeSimulatedNetworkConverges() {
        // 300 servers in a balanced binary tree and 600 clients: every server learns every host.
        var sim = Simulation()
        let n: UInt32 = 300
        for i in 1...n { sim.startServer(name: "s\(i)", id: i, info: "", upstream: i == 1 ? nil : "s\(i / 2)") }
        sim.settle()
        for c in 1...2 * n { sim.startClient(name: "c\(c)", id: 10_000 + c, info: "", server: "s\((c % n) + 1)") }
        sim.settle()
        let total = Int(n) * 3
        for i in stride(from: 1, through: n, by: 29) {
            XCTAssertEqual(sim.servers["s\(i)"]!.hosts.count, total - 1)
        }
        XCTAssertEqual(sim.clients["c1"]!.users.count, 2 * Int(n) - 1)
        // A chat between two deep leaves climbs to their common ancestor and back down.
        sim.chat(from: "c299", to: 10_000 + 598, text: "far")
        sim.settle()
        XCTAssertEqual(sim.clients["c598"]!.chatLog.last?.text, "far")
    }

    // MARK: Course-style peers (docs/protocol.md, "Course peers")

    /// The burst to a new neighbour opens with our own registration, last hop 0; the joiner does
    /// not send its own back; a course server's echo of its own registration is answered quietly.
    func testBurstOwnRegistrationHasLastHopZeroAndEchoesAreQuiet() {
        var upstream = ServerCore(id: 1, name: "up", info: "")
        var joiner = ServerCore(id: 2, name: "down", info: "")
        var a: [Action] = [], b: [Action] = []
        upstream.linkOpened(LinkID(1), outbound: false, into: &a)
        joiner.linkOpened(LinkID(1), outbound: true, into: &b)
        let joinerReg = b.compactMap { if case .send(let m, _) = $0 { return m } else { return nil } }
        a.removeAll()
        for m in joinerReg { upstream.receive(m, on: LinkID(1), into: &a) }
        let burst = a.compactMap { if case .send(let m, _) = $0 { return m } else { return nil } }
        guard case .serverRegistration(let own)? = burst.first else { return XCTFail("no burst: \(a)") }
        XCTAssertEqual(own.sourceID, 1)
        XCTAssertEqual(own.lastHopID, 0, "course servers only take last hop 0 as adjacent")
        // The joiner takes it as its upstream's answer and sends nothing of its own back.
        b.removeAll()
        for m in burst { joiner.receive(m, on: LinkID(1), into: &b) }
        XCTAssertFalse(b.contains { if case .send(.serverRegistration(let r), _) = $0 { return r.sourceID == 2 } else { return false } },
                       "the joiner echoed its own registration")
        XCTAssertEqual(joiner.adjacentServers[1], LinkID(1))
        // A course-style joiner does echo; the upstream answers with the duplicate status, and
        // logs no warning-level refusal.
        a.removeAll()
        upstream.receive(.serverRegistration(Registration(sourceID: 2, lastHopID: 0, name: "down", info: "")), on: LinkID(1), into: &a)
        XCTAssertTrue(a.contains { if case .send(.status(let st), _) = $0 { return st.code == .duplicateID } else { return false } })
        XCTAssertTrue(a.contains { if case .log(.ownRegistrationEcho(2, _)) = $0 { return true } else { return false } })
        XCTAssertFalse(a.contains { if case .log(.duplicateRefused) = $0 { return true } else { return false } })
        XCTAssertFalse(a.contains { if case .close = $0 { return true } else { return false } }, "the link stays")
    }

    /// With course-style neighbours no server quit (0x02) is ever sent, on leaving or on losing a
    /// neighbour; what was lost is still forgotten here.
    func testTheCourseProfileNeverSendsServerQuit() {
        var sim = smallTree(sendsServerQuit: false)
        sim.sent = []
        sim.stopServer("s2")
        sim.killServer("s3")
        XCTAssertFalse(sim.sent!.contains { if case .serverQuit = $0 { return true } else { return false } }, "a server quit was sent")
        XCTAssertFalse(sim.sent!.isEmpty, "nothing was recorded")
        XCTAssertEqual(sim.servers["s1"]?.hosts.keys.sorted(), [101])
        // The same without the profile: server quits do cross (the test sees them when sent).
        var standard = smallTree()
        standard.sent = []
        standard.stopServer("s2")
        XCTAssertTrue(standard.sent!.contains { if case .serverQuit = $0 { return true } else { return false } })
    }

    // MARK: The upstream lifecycle, in memory

    /// Lost upstream: wait 100 ms, then retry, doubling the wait up to 1 s while the upstream is
    /// down; once it is back, the next attempt rejoins and both sides learn each other again.
    func testALostUpstreamIsRejoinedWithBackOff() {
        var sim = smallTree()
        XCTAssertEqual(sim.servers["s2"]?.upstreamPhase, .joined(sim.servers["s2"]!.upstreamLink!))
        sim.killServer("s1")
        XCTAssertEqual(sim.servers["s2"]?.upstreamPhase, .waiting(retryMilliseconds: 100))
        XCTAssertTrue(sim.serverLogs["s2"]!.contains(.upstreamLost(retryMilliseconds: 100)))
        var waits: [Int] = []
        for _ in 0..<6 {
            guard case .waiting(let ms)? = sim.servers["s2"]?.upstreamPhase else { return XCTFail("not waiting") }
            waits.append(ms)
            sim.advance(milliseconds: ms)  // the attempt fails: s1 is down
        }
        XCTAssertEqual(waits, [100, 200, 400, 800, 1000, 1000])
        // s1 comes back (same name, id): the next attempt gets through.
        sim.startServer(name: "s1", id: 1, info: "")
        sim.startClient(name: "u105", id: 105, info: "", server: "s1")
        sim.settle()
        sim.advance(milliseconds: 1000)
        XCTAssertEqual(sim.servers["s2"]?.upstreamPhase, .joined(sim.servers["s2"]!.upstreamLink!))
        // s3 (also below s1) rejoined the same way.
        XCTAssertEqual(sim.servers["s1"]?.hosts.keys.sorted(), [2, 3, 4, 102, 103, 105])
        XCTAssertEqual(sim.clients["u102"]?.users.keys.sorted(), [103, 105])
    }

    /// A graceful stop of the upstream (server quit first) is a loss like any other.
    func testAStoppedUpstreamIsRejoinedToo() {
        var sim = smallTree()
        sim.stopServer("s2")
        XCTAssertEqual(sim.servers["s4"]?.upstreamPhase, .waiting(retryMilliseconds: 100))
        sim.startServer(name: "s2", id: 2, info: "", upstream: "s1")
        sim.settle()
        sim.advance(milliseconds: 100)
        XCTAssertEqual(sim.servers["s1"]?.hosts.keys.sorted(), [2, 3, 4, 101, 102, 103])
        XCTAssertEqual(sim.clients["u101"]?.users.keys.sorted(), [102, 103])
    }

    /// With rejoining off, a lost upstream stays lost and nothing is scheduled.
    func testWithoutRejoinALostUpstreamStaysLost() {
        var sim = Simulation()
        sim.startServer(name: "s1", id: 1, info: "")
        sim.startServer(name: "s2", id: 2, info: "", upstream: "s1", rejoins: false)
        sim.settle()
        sim.killServer("s1")
        XCTAssertEqual(sim.servers["s2"]?.upstreamPhase, .stopped)
        sim.startServer(name: "s1", id: 1, info: "")
        sim.advance(milliseconds: 5_000)
        XCTAssertEqual(sim.servers["s1"]?.hosts.keys.sorted(), [])
    }
}
