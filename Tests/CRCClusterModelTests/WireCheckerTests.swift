import CRCCluster
import CRCProtocol
import XCTest

/// The black-box checks on hand-made wire records: each rule fails on the fault it exists for.
final class WireCheckerTests: XCTestCase {
    // a ← b ← c (servers), x on a, y on c
    let topology = Topology(servers: [ServerSpec(id: 1, name: "a"), ServerSpec(id: 2, name: "b", upstream: "a"),
                                      ServerSpec(id: 3, name: "c", upstream: "b")],
                            clients: [ClientSpec(id: 101, name: "x", server: "a"), ClientSpec(id: 102, name: "y", server: "c")])
    var links: WireChecker.Links { WireChecker.Links(topology: topology) }

    func rec(_ t: Double, _ link: String, _ dir: WireDirection, _ m: Message, conn: Int = 1) -> WireRecord {
        WireRecord(time: t, link: link, connection: conn, direction: dir, event: .message(m))
    }

    func chat(_ text: String = "hi") -> ChatRecord {
        ChatRecord(from: "x", sourceID: 101, to: "y", destinationID: 102, text: text,
                   outcome: .delivered(to: "y", hops: [("a", 2), ("b", 3), ("c", 102)]))
    }

    var chatMessage: Message { .clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "hi")) }

    func testAChatOnExactlyItsPathPasses() {
        let records = [rec(1, "x", .up, chatMessage), rec(2, "b", .down, chatMessage), rec(3, "c", .down, chatMessage), rec(4, "y", .down, chatMessage)]
        XCTAssertEqual(WireChecker.check(links: links, records: records, chats: [chat()], quits: []), [])
    }

    func testAChatThatTakesAnExtraLinkOrSkipsOneOrArrivesOutOfOrderFails() {
        // Skips b → c: named as the first missing hop.
        let skipped = WireChecker.check(links: links, records: [rec(1, "x", .up, chatMessage), rec(2, "b", .down, chatMessage)], chats: [chat()], quits: [])
        XCTAssertEqual(skipped.first?.description, "b chat path: chat x → y \"hi\" never crossed b → c (expected path x → a → b → c → y)")
        // An extra crossing back up.
        let extra = WireChecker.check(links: links, records: [rec(1, "x", .up, chatMessage), rec(2, "b", .down, chatMessage), rec(3, "c", .down, chatMessage),
                                                             rec(4, "y", .down, chatMessage), rec(5, "b", .up, chatMessage)], chats: [chat()], quits: [])
        XCTAssertEqual(extra.map(\.description), ["b chat path: chat x → y \"hi\" crossed b → a, which is not on its path x → a → b → c → y"])
        // Out of order.
        let order = WireChecker.check(links: links, records: [rec(1, "x", .up, chatMessage), rec(5, "b", .down, chatMessage), rec(3, "c", .down, chatMessage),
                                                             rec(6, "y", .down, chatMessage)], chats: [chat()], quits: [])
        XCTAssertEqual(order.map(\.description), ["b chat path: chat x → y \"hi\" crossed b → c before a → b"])
    }

    func testRegistrationsNeedTheRightLastHopDirectionAndOneCrossing() {
        let own = Message.serverRegistration(Registration(sourceID: 3, lastHopID: 3, name: "c", info: ""))
        let wrongHop = Message.clientRegistration(Registration(sourceID: 101, lastHopID: 0, name: "x", info: ""))
        let diffs = WireChecker.check(links: links, records: [rec(1, "c", .up, own), rec(2, "b", .down, wrongHop), rec(3, "b", .down, wrongHop),
                                                             rec(4, "c", .down, .clientRegistration(Registration(sourceID: 102, lastHopID: 2, name: "y", info: "")))],
                                      chats: [], quits: [], profile: .strict).map(\.description)
        XCTAssertEqual(diffs, [
            "c last hop: sent its own registration to b with last hop 3, expected 0 (peers from the course take only last hop 0 as adjacent)",
            "a last hop: forwarded the client registration of x (101) to b with last hop 0, expected its own id 1",
            "a registration: sent the client registration of x (101) to b more than once on the same link",
            "b registration: sent the client registration of y (102) to c, which is on its side of the tree: registrations travel away from the machine they describe",
        ])
    }

    func testTheCourseProfileForgivesOnlyTheOwnRegistrationEcho() {
        let own = Message.serverRegistration(Registration(sourceID: 2, lastHopID: 0, name: "b", info: ""))
        let records = [rec(1, "b", .up, own), rec(2, "b", .down, .serverRegistration(Registration(sourceID: 1, lastHopID: 0, name: "a", info: ""))),
                       rec(3, "b", .up, own)]
        XCTAssertEqual(WireChecker.check(links: links, records: records, chats: [], quits: [], profile: .course), [])
        XCTAssertEqual(WireChecker.check(links: links, records: records, chats: [], quits: [], profile: .strict).map(\.description),
                       ["b registration: sent the server registration of b (2) to a more than once on the same link"])
    }

    func testAQuitMustReachEveryLinkOnceAndNeverComeBack() {
        let quit = Message.clientQuit(ClientQuit(sourceID: 101, text: "bye"))
        let q = QuitRecord(client: "x", sourceID: 101, crossings: [.init("x", .up), .init("b", .down), .init("c", .down), .init("y", .down)])
        let echoed = WireChecker.check(links: links, records: [rec(1, "x", .up, quit), rec(2, "b", .down, quit), rec(3, "b", .up, quit)], chats: [], quits: [q])
        XCTAssertEqual(echoed.map(\.description), ["b quit: quit of x never crossed b → c", "c quit: quit of x never crossed c → y",
                                              "b quit: quit of x was sent back b → a, the way it came (an echo)"])
    }

    func testAServerTableIsReconstructedFromWhatReachedIt() {
        let records = [
            rec(1, "b", .down, .serverRegistration(Registration(sourceID: 1, lastHopID: 0, name: "a", info: ""))),
            rec(2, "b", .down, .clientRegistration(Registration(sourceID: 101, lastHopID: 1, name: "x", info: ""))),
            rec(3, "c", .up, .serverRegistration(Registration(sourceID: 3, lastHopID: 0, name: "c", info: ""))),
            rec(4, "c", .up, .clientRegistration(Registration(sourceID: 102, lastHopID: 3, name: "y", info: ""))),
            rec(5, "b", .down, .clientQuit(ClientQuit(sourceID: 101, text: ""))),
            rec(6, "b", .down, .status(Status(sourceID: 1, destinationID: 2, code: .unknownID, text: "note"))),
        ]
        let o = WireChecker.observeServer("b", links: links, records: records)
        XCTAssertEqual(o.hosts, [1: 1, 3: 3, 102: 3])
        XCTAssertEqual(o.adjacentServers, [1, 3])
        XCTAssertEqual(o.adjacentClients, [])
        XCTAssertEqual(o.statusLog, ["note"])
        XCTAssertEqual(o.firstMessages.count, 1)
    }

    func testArgumentTemplatesAndShellWords() throws {
        XCTAssertEqual(try shellWords(#"python3 "my server.py" --x 'a b' c\ d"#), ["python3", "my server.py", "--x", "a b", "c d"])
        XCTAssertThrowsError(try shellWords("python3 'open"))
        let values: [String: String?] = ["id": "1", "name": "a", "port": "5", "info": "", "upstream_host": nil, "upstream_port": nil, "log_file": "a.log"]
        XCTAssertEqual(try ArgumentTemplate.expand(ArgumentTemplate.seedServer, values: values, known: ArgumentTemplate.serverPlaceholders),
                       ["--id", "1", "--servername", "a", "--port", "5", "--info", "", "--log-file", "a.log"])
        XCTAssertEqual(try ArgumentTemplate.expand(["-p", "{port}", "--up={upstream_port}"], values: values, known: ArgumentTemplate.serverPlaceholders), ["-p", "5"])
        XCTAssertThrowsError(try ArgumentTemplate.expand(["{nope}"], values: values, known: ArgumentTemplate.serverPlaceholders))
    }
}
