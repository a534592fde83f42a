import CRCCore
import Foundation
import XCTest
import CRCContract
import CRCProcess

/// Real processes on loopback: three servers in a chain with clients, a chat across them, a
/// client quit, a server stopped, a duplicate id refused, and garbage from a peer.
final class NetworkProcessTests: XCTestCase {
    var harness: Harness!

    override func setUpWithError() throws {
        harness = try Harness()
    }

    override func tearDown() {
        harness.shutdown()
    }

    func testChainOfThreeServersWithClients() throws {
        let h = harness!
        let a = try h.startServer(id: 1, name: "alpha")
        let b = try h.startServer(id: 2, name: "beta", upstream: a)
        let c = try h.startServer(id: 3, name: "gamma", upstream: b)
        let ua = try h.startClient(id: 101, name: "ann", server: a)
        let ub = try h.startClient(id: 102, name: "bob", server: b)
        let uc = try h.startClient(id: 103, name: "cat", server: c)

        // Every server learns every host, with first links along the chain.
        let sa = h.waitForState(a, "alpha knows everyone") { Set($0.hosts.map(\.id)) == [2, 3, 101, 102, 103] }
        XCTAssertEqual(sa?.adjacentServers, [2])
        XCTAssertEqual(sa?.adjacentClients, [101])
        XCTAssertEqual(sa?.hosts.first { $0.id == 103 }?.firstLink, 2)
        XCTAssertEqual(sa?.hosts.first { $0.id == 3 }?.kind, .server)
        XCTAssertEqual(sa?.hosts.first { $0.id == 102 }?.name, "bob")
        let sb = h.waitForState(b, "beta knows everyone") { Set($0.hosts.map(\.id)) == [1, 3, 101, 102, 103] }
        XCTAssertEqual(sb?.adjacentServers, [1, 3])
        XCTAssertEqual(sb?.upstream, 1)

        // A chat from ann to cat crosses all three servers, hop by hop.
        let before = uc.stdoutLines.count
        XCTAssertNotNil(ua.waitForEvent(.userJoined, timeout: h.timeout) { $0.int("id") == 103 })
        ua.send(line: "msg cat \"over three hops\"")
        let chat = uc.waitForEvent(.chat, from: before, timeout: h.timeout)
        XCTAssertEqual(chat?.int("from"), 101)
        XCTAssertEqual(chat?.string("text"), "\"over three hops\"")
        let sc = h.waitForState(c, "gamma counted the chat") { s in s.links.contains { $0.peerID == 103 && $0.messagesOut >= 4 } }
        XCTAssertNotNil(sc)
        for (server, next) in [(a, 2), (b, 3), (c, 103)] {
            let routed = h.waitForLog(server) {
                $0.contains("\"event\":\"chat\"") && $0.contains("\"next_hop\":\(next)") && $0.contains("\"destination\":103")
            }
            XCTAssertTrue(routed, "\(server.process.name) logged the chat with next hop \(next)")
        }

        // Unknown id: answered by the first server, routed back to the sender.
        ua.send(line: "MESSAGE 999 hello?")
        let status = ua.waitForEvent(.status, timeout: h.timeout)
        XCTAssertEqual(status?.string("text"), "Unknown ID 999")

        // Client quit: everyone forgets bob; nobody receives it twice.
        ub.send(line: "/quit see you")
        XCTAssertEqual(ub.waitForExit(timeout: h.timeout), .exited(0))
        let left = ua.waitForEvent(.userLeft, timeout: h.timeout) { $0.int("id") == 102 }
        XCTAssertEqual(left?.string("text"), "see you")
        h.waitForState(a, "alpha forgot bob") { !$0.hosts.contains { $0.id == 102 } }
        h.waitForState(c, "gamma forgot bob") { !$0.hosts.contains { $0.id == 102 } }

        // Server stop: gamma announces its departure and exits 0; the others forget it and cat.
        c.process.signal(SIGTERM)
        XCTAssertEqual(c.process.waitForExit(timeout: h.timeout), .exited(0))
        h.waitForState(a, "alpha forgot gamma and cat") { Set($0.hosts.map(\.id)) == [2, 101] }
        h.waitForState(b, "beta forgot gamma and cat") { Set($0.hosts.map(\.id)) == [1, 101] && $0.adjacentServers == [1] }
        XCTAssertNotNil(ua.waitForEvent(.userLeft, timeout: h.timeout) { $0.int("id") == 103 })
        XCTAssertNotNil(uc.waitForEvent(.disconnected, timeout: h.timeout))
        XCTAssertEqual(uc.waitForExit(timeout: h.timeout), .exited(3))
    }

    func testDuplicateIDsAreRefusedAndReported() throws {
        let h = harness!
        let a = try h.startServer(id: 1, name: "alpha")
        _ = try h.startServer(id: 2, name: "beta", upstream: a)
        // A second server with id 2 is refused, says why, and exits 2.
        let dup = NodeProcess(name: "dup", executable: Harness.binDir.appendingPathComponent("crc-server").path,
                              arguments: ["--id", "2", "--servername", "dup", "--port", "0",
                                          "--connect_to_host", "alpha", "--connect_to_port", "\(a.port)"])
        try dup.start()
        XCTAssertEqual(dup.waitForExit(timeout: h.timeout), .exited(2))
        XCTAssertTrue(dup.stderrLines.contains { $0.contains("A machine has already registered with ID 2") }, "\(dup.stderrLines)")
        // A client with a taken id is refused with the seed's wording and exits 2.
        _ = try h.startClient(id: 101, name: "ann", server: a)
        let twin = try h.startClient(id: 101, name: "twin", server: a, expectRegistered: false)
        XCTAssertEqual(twin.waitForEvent(.refused, timeout: h.timeout)?.string("text"),
                       "Someone has already registered with ID 101")
        XCTAssertEqual(twin.waitForExit(timeout: h.timeout), .exited(2))
        // The real holders are untouched.
        let s = h.waitForState(a, "alpha keeps the first holders") { $0.hosts.count == 2 }
        XCTAssertEqual(s?.hosts.first { $0.id == 2 }?.name, "beta")
        XCTAssertEqual(s?.hosts.first { $0.id == 101 }?.name, "ann")
    }

    func testGarbageClosesOnlyTheOffendingConnection() throws {
        let h = harness!
        let a = try h.startServer(id: 1, name: "alpha")
        let ann = try h.startClient(id: 101, name: "ann", server: a)
        let bob = try h.startClient(id: 102, name: "bob", server: a)
        for garbage: [UInt8] in [[0x42, 1, 2, 3], [0x81, 0, 0, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]] {
            let fd = try rawConnect(port: a.port)
            _ = garbage.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var byte: UInt8 = 0
            XCTAssertEqual(read(fd, &byte, 1), 0, "the server closes a connection that is not CRC")
            close(fd)
        }
        let mark = bob.stdoutLines.count
        XCTAssertNotNil(ann.waitForEvent(.userJoined, timeout: h.timeout) { $0.int("id") == 102 }, "ann addresses bob by name")
        ann.send(line: "msg bob still fine")
        XCTAssertEqual(bob.waitForEvent(.chat, from: mark, timeout: h.timeout)?.string("text"), "still fine")
        XCTAssertTrue(h.waitForLog(a, containing: "unknown message type 0x42"), "the reason is logged")
        XCTAssertTrue(h.waitForLog(a, containing: "exceeds the limit"), "the reason is logged")
        XCTAssertTrue(a.process.isRunning)
    }

    func testBadStartupsFailWithOneClearLine() throws {
        let h = harness!
        let a = try h.startServer(id: 1, name: "alpha")
        let bin = Harness.binDir.appendingPathComponent("crc-server").path
        let cases: [([String], Int32, String)] = [
            (["--id", "5", "--servername", "x", "--port", "\(a.port)"], 1, "cannot listen"),
            (["--id", "5", "--servername", "x", "--port", "0", "--connect_to_host", "127.0.0.1", "--connect_to_port", "1"], 1, "cannot reach upstream"),
            (["--id", "0", "--servername", "x", "--port", "0"], 64, "--id must not be 0"),
            (["--id", "5", "--servername", "x", "--port", "0", "--connect_to_host", "a"], 64, "go together"),
        ]
        for (args, code, text) in cases {
            let p = NodeProcess(name: "bad", executable: bin, arguments: args)
            try p.start()
            XCTAssertEqual(p.waitForExit(timeout: h.timeout), .exited(code), "\(args)")
            p.waitForEndOfOutput(timeout: 1)  // drain output
            XCTAssertTrue(p.stderrLines.contains { $0.contains(text) }, "\(args): \(p.stderrLines)")
            XCTAssertFalse(p.stderrLines.contains { $0.contains("Fatal error") || $0.contains("backtrace") })
        }
    }

    private func rawConnect(port: Int) throws -> Int32 { try Harness.rawConnect(port: port) }
}
