import CRCCore
import CRCProtocol
import Foundation
import NIOCore
import XCTest
import CRCContract
import CRCProcess

/// The server's defences against peers that misbehave: silence, too many connections, and a
/// client that stops reading while others keep sending to it.
final class LimitsTests: XCTestCase {
    var harness: Harness!

    override func setUpWithError() throws { harness = try Harness() }
    override func tearDown() { harness.shutdown() }

    func connect(_ port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
        try Harness.rawConnect(port: port, receiveBuffer: receiveBuffer)
    }

    func send(_ fd: Int32, _ message: Message) {
        let bytes = Array(message.encoded.readableBytesView)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n <= 0 { return }
            off += n
        }
    }

    /// Reads until the server closes the connection (true) or the receive timeout passes (false).
    func closedByServer(_ fd: Int32) -> Bool { Harness.closedByServer(fd) }

    func log(_ server: Harness.Server) -> String { (try? String(contentsOf: server.log, encoding: .utf8)) ?? "" }

    func testSilentConnectionIsDroppedAfterTheRegisterTimeout() throws {
        let s = try harness.startServer(id: 1, name: "alpha", extra: ["--register-timeout", "0.2"])
        let fd = try connect(s.port)
        defer { close(fd) }
        let start = Date()
        XCTAssertTrue(closedByServer(fd))
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertTrue(harness.waitForLog(s, containing: "\"event\":\"register_timeout\""))
        XCTAssertTrue(s.process.isRunning)
    }

    func testConnectionsBeyondTheLimitAreClosed() throws {
        let s = try harness.startServer(id: 1, name: "alpha", extra: ["--max-connections", "2"])
        let a = try connect(s.port), b = try connect(s.port)
        defer { close(a); close(b) }
        harness.waitForState(s, "two links open") { $0.links.count == 2 }
        let c = try connect(s.port)
        defer { close(c) }
        XCTAssertTrue(closedByServer(c))
        XCTAssertTrue(harness.waitForLog(s, containing: "\"event\":\"connection_refused\""))
        // The first two are untouched.
        XCTAssertEqual(try MonitorClient.fetchState(port: s.monitorPort).links.count, 2)
    }

    /// Past the memory cap: cut at once.
    func testSlowConsumerIsDisconnectedAndEveryoneElseKeepsBeingServed() throws {
        try slowConsumer(extra: ["--max-client-queue", "65536"], reason: "\"limit\":65536")
    }

    /// Under the cap, a peer that takes nothing while the server holds everyone back for it
    /// (back-pressure) is cut after --slow-consumer-timeout.
    func testAPeerThatTakesNothingIsCutAfterTheSlowConsumerTimeout() throws {
        try slowConsumer(extra: ["--max-client-queue", "\(1 << 30)", "--slow-consumer-timeout", "1"], reason: "took nothing for 1000 ms")
    }

    func slowConsumer(extra: [String], reason: String) throws {
        let s = try harness.startServer(id: 1, name: "alpha", extra: extra)
        let watcher = try harness.startClient(id: 103, name: "watcher", server: s)
        // The slow one registers, then never reads again; a small receive buffer fills fast.
        let slow = try connect(s.port, receiveBuffer: 4096)
        defer { close(slow) }
        send(slow, .clientRegistration(Registration(sourceID: 201, lastHopID: 0, name: "slow", info: "")))
        XCTAssertNotNil(watcher.waitForEvent(.userJoined, timeout: harness.timeout) { $0.int("id") == 201 })
        // A sender floods it: 20 MB of chats.
        let sender = try connect(s.port)
        defer { close(sender) }
        send(sender, .clientRegistration(Registration(sourceID: 202, lastHopID: 0, name: "flood", info: "")))
        let text = String(repeating: "x", count: 1000)
        var batch = ByteBuffer()
        for _ in 0..<2000 { batch.writeCRCMessage(.clientChat(ClientChat(sourceID: 202, destinationID: 201, text: text))) }
        let bytes = Array(batch.readableBytesView)
        let drain = Thread {  // the flooder reads what it is sent, so only the slow one is slow
            var buf = [UInt8](repeating: 0, count: 65_536)
            while read(sender, &buf, buf.count) > 0 {}
        }
        drain.start()
        for _ in 0..<10 {
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { write(sender, $0.baseAddress! + off, bytes.count - off) }
                if n <= 0 { break }
                off += n
            }
        }
        // The server drops the slow consumer, tells the others, and keeps its memory bounded.
        let left = watcher.waitForEvent(.userLeft, timeout: harness.timeout) { $0.int("id") == 201 }
        XCTAssertNotNil(left, log(s))
        XCTAssertTrue(harness.waitForLog(s) { $0.contains("\"event\":\"slow_consumer\"") && $0.contains(reason) }, log(s))
        let state = harness.waitForState(s, "slow consumer gone") { !$0.hosts.contains { $0.id == 201 } }
        XCTAssertLessThan(state?.links.map(\.bytesPending).max() ?? .max, 1 << 20)
        // Everyone else is still served.
        let other = try harness.startClient(id: 104, name: "other", server: s)
        let mark = other.stdoutLines.count
        // The watcher addresses "other" by name, so it must have heard of it first.
        XCTAssertNotNil(watcher.waitForEvent(.userJoined, timeout: harness.timeout) { $0.int("id") == 104 })
        watcher.send(line: "msg other still here")
        XCTAssertEqual(other.waitForEvent(.chat, from: mark, timeout: harness.timeout)?.string("text"), "still here")
    }
}
