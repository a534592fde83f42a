import CRCProtocol
import Foundation
import NIOCore
import XCTest
import CRCProcess

/// A client that sends as fast as it can through a chain of servers must not split the network:
/// the servers slow it down (back-pressure) instead of queueing without bound and cutting the link
/// as a slow consumer.
final class BackPressureTests: XCTestCase {
    var harness: Harness!

    override func setUpWithError() throws { harness = try Harness() }
    override func tearDown() { harness.shutdown() }

    func testAnUnlimitedSenderThroughAChainLosesNothingAndCutsNoLink() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["CRC_FLOOD_SECONDS"] ?? "") ?? 5
        let h = harness!
        // Default limits: the point is that they are not needed. Info level: no line per chat.
        let quiet = ["--log-level", "info"]
        let a = try h.startServer(id: 1, name: "alpha", extra: quiet)
        let b = try h.startServer(id: 2, name: "beta", upstream: a, extra: quiet)
        let c = try h.startServer(id: 3, name: "gamma", upstream: b, extra: quiet)
        let receiver = try RawPeer(port: c.port)
        defer { receiver.close() }
        receiver.send(.clientRegistration(Registration(sourceID: 902, lastHopID: 0, name: "sink", info: "")))
        let sender = try RawPeer(port: a.port)
        defer { sender.close() }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)  // a stalled network fails the test instead of hanging it
        setsockopt(sender.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        sender.send(.clientRegistration(Registration(sourceID: 901, lastHopID: 0, name: "source", info: "")))
        XCTAssertTrue(sender.readUntil(timeout: 10) { if case .clientRegistration(let r) = $0 { return r.sourceID == 902 }; return false })

        // The receiver parses every chat, checking order, and is slower than the sender on purpose:
        // 64 KiB reads with a 0.1 s pause after each (at most ~0.6 MB/s, slower than even a debug build of the servers).
        receiver.readPause = 100_000
        let sent = NIOLockedCounter()
        let reader = Thread {
            var expected: UInt64 = 0
            var outOfOrder = 0
            _ = receiver.readUntil(timeout: seconds + 120) { m in
                guard case .clientChat(let chat) = m else { return false }
                let seq = chat.text.getInteger(at: chat.text.readerIndex, as: UInt64.self) ?? .max
                if seq != expected { outOfOrder += 1 }
                expected = seq + 1
                return sent.finished && expected >= UInt64(sent.value)
            }
            receiver.result = (Int(expected), outOfOrder)
            receiver.done.signal()
        }
        reader.start()
        // Pipelined without limit: every write as large as the socket takes, for `seconds`.
        let deadline = Date().addingTimeInterval(seconds)
        var next: UInt64 = 0
        // One batch of 16,384 chats, its sequence numbers rewritten in place for each write (the
        // test is a debug build: building messages one by one would be the bottleneck).
        let perBatch = 16_384, size = 21
        var batch = [UInt8](repeating: 0, count: perBatch * size)
        let header = Array(ClientChat(sourceID: 901, destinationID: 902, text: ByteBuffer(bytes: [UInt8](repeating: 0, count: 8))).encodedMessage.readableBytesView.prefix(13))
        batch.withUnsafeMutableBytes { raw in
            for i in 0..<perBatch { for (j, byte) in header.enumerated() { raw[i * size + j] = byte } }
        }
        var stalled = false
        while Date() < deadline {
            batch.withUnsafeMutableBytes { raw in
                for i in 0..<perBatch {
                    raw.storeBytes(of: (next + UInt64(i)).bigEndian, toByteOffset: i * size + 13, as: UInt64.self)
                }
            }
            if !sender.writeAll(batch) { stalled = true; break }
            next += UInt64(perBatch)
            sent.set(Int(next))
        }
        sent.finish()
        print("back-pressure test: sent \(next) chats in \(seconds) s")
        XCTAssertFalse(stalled, "the network stopped taking the sender's chats for 30 s")
        XCTAssertEqual(receiver.done.wait(timeout: .now() + 180), .success, "the receiver timed out")
        XCTAssertEqual(receiver.result.received, Int(next), "chats lost (sent \(next))")
        XCTAssertEqual(receiver.result.outOfOrder, 0, "chats reordered")
        XCTAssertGreaterThan(next, 100_000, "the sender hardly sent anything")
        for s in [a, b, c] {
            let log = (try? String(contentsOf: s.log, encoding: .utf8)) ?? ""
            XCTAssertFalse(log.contains("\"event\":\"slow_consumer\""), "a link was cut as a slow consumer")
            XCTAssertFalse(log.contains("\"event\":\"hosts_lost\""), "the network split")
        }
        let state = try MonitorClient.fetchState(port: a.monitorPort)
        XCTAssertEqual(Set(state.hosts.map(\.id)), [2, 3, 901, 902])
    }
}

/// A counter one thread sets and another reads.
final class NIOLockedCounter: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var n = 0
    private var done = false
    func set(_ v: Int) { lock.lock(); n = v; lock.unlock() }
    func finish() { lock.lock(); done = true; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    var finished: Bool { lock.lock(); defer { lock.unlock() }; return done }
}

extension ClientChat {
    var encodedMessage: ByteBuffer { Message.clientChat(self).encoded }
}

extension RawPeer {
    /// Writes all of `bytes`; false when a write fails or times out.
    func writeAll(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }
}
