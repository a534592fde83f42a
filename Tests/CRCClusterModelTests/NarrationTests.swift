import CRCCluster
import CRCContract
import Foundation
import XCTest

/// The narration of node events and the console's parsing, without processes.
final class NarrationTests: XCTestCase {
    let topology = Topology(servers: [ServerSpec(id: 1, name: "theshire"), ServerSpec(id: 2, name: "rivendale", upstream: "theshire")],
                            clients: [ClientSpec(id: 101, name: "frodo", server: "theshire"), ClientSpec(id: 103, name: "elrond", server: "rivendale")])

    func testEventsPeopleCareAboutAndNothingElse() throws {
        let n = Narrator(topology: topology)
        XCTAssertEqual(n.narrate(node: "elrond", event: NodeEvent(.chat, ["from": 101, "text": "hi"]))?.text, "[frodo → elrond] hi")
        XCTAssertEqual(n.narrate(node: "frodo", event: NodeEvent(.registered, ["id": 101]))?.text, "frodo joined theshire")
        XCTAssertNil(n.narrate(node: "frodo", event: NodeEvent(.digest, ["users": 1])))
        XCTAssertNil(n.narrate(node: "frodo", event: NodeEvent(.userJoined, ["id": 103])))
        // Every server records every host; only a neighbour attaching is told.
        XCTAssertNil(n.narrate(node: "theshire", event: NodeEvent(.registered, ["kind": "client", "adjacent": true, "id": 101])))
        let attach = NodeEvent(serverText: #"12:00:01.234 info registered adjacent=true first_link=2 id=2 info="Elronds House" kind=server link=1 name=rivendale server=theshire server_id=1"#)
        XCTAssertEqual(attach?.string("info"), "Elronds House")
        XCTAssertEqual(n.narrate(node: "theshire", event: try XCTUnwrap(attach))?.text, "rivendale attached to theshire")
        let lost = NodeEvent(serverText: "12:00:02.000 info hosts_lost behind=2 lost=[2,103] server=theshire server_id=1")
        XCTAssertEqual(n.narrate(node: "theshire", event: try XCTUnwrap(lost)), Narration(kind: .faults, node: "theshire", text: "theshire lost the link to rivendale and forgot 2 hosts: rivendale, elrond"))
        XCTAssertNil(NodeEvent(serverText: "Traceback (most recent call last):"))
    }

    func testConsoleCommands() throws {
        XCTAssertEqual(try ConsoleCommand.parse("chat frodo aragorn  hello   there"), .chat(from: "frodo", to: "aragorn", text: "hello   there"))
        XCTAssertEqual(try ConsoleCommand.parse("quit sam"), .step(.quit(client: "sam", text: "")))
        XCTAssertEqual(try ConsoleCommand.parse("delay rivendale 300"), .step(.delay("rivendale", milliseconds: 300)))
        XCTAssertEqual(try ConsoleCommand.parse("  # a comment"), nil)
        XCTAssertThrowsError(try ConsoleCommand.parse("delay rivendale soon")) { XCTAssertEqual("\($0)", "delay: MS must be a number of milliseconds, 0-60000") }
        XCTAssertThrowsError(try ConsoleCommand.parse("chat frodo")) { XCTAssertEqual("\($0)", "usage: chat FROM TO TEXT") }
        XCTAssertThrowsError(try ConsoleCommand.parse("watch maybe"))
    }
}
