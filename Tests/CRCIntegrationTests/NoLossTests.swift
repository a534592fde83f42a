import CRCProtocol
import Foundation
import NIOCore
import XCTest

/// A million chats pipelined from one client to another across three servers: every one arrives,
/// in order. (crc-bench measures the speed of the same thing; this proves the delivery.)
final class NoLossTests: XCTestCase {
    var harness: Harness!

    override func setUpWithError() throws { harness = try Harness() }
    override func tearDown() { harness.shutdown() }

    func testAMillionChatsAcrossThreeServersArriveInOrder() throws {
        let h = harness!
        // Per-chat debug lines off; and room to queue for this test's reader, which parses in a
        // debug build and may fall behind the servers (the slow-consumer limit is tested elsewhere).
        let quiet = ["--log-level", "info", "--max-client-queue", "\(1 << 30)"]
        let a = try h.startServer(id: 1, name: "alpha", extra: quiet)
        let b = try h.startServer(id: 2, name: "beta", upstream: a, extra: quiet)
        let c = try h.startServer(id: 3, name: "gamma", upstream: b, extra: quiet)
        let receiver = try RawPeer(port: c.port)
        defer { receiver.close() }
        receiver.send(.clientRegistration(Registration(sourceID: 902, lastHopID: 0, name: "sink", info: "")))
        let sender = try RawPeer(port: a.port)
        defer { sender.close() }
        sender.send(.clientRegistration(Registration(sourceID: 901, lastHopID: 0, name: "source", info: "")))
        // The sender may start once its server knows the receiver.
        XCTAssertTrue(sender.readUntil(timeout: 10) { if case .clientRegistration(let r) = $0 { return r.sourceID == 902 }; return false })

        let total = 1_000_000
        let reader = Thread {
            var expected: UInt64 = 0
            var outOfOrder = 0
            _ = receiver.readUntil(timeout: 120) { m in
                guard case .clientChat(let chat) = m else { return false }
                let seq = chat.text.getInteger(at: chat.text.readerIndex, as: UInt64.self) ?? .max
                if seq != expected { outOfOrder += 1 }
                expected = seq + 1
                return expected == UInt64(total)
            }
            receiver.result = (Int(expected), outOfOrder)
            receiver.done.signal()
        }
        reader.start()
        var batch = ByteBuffer()
        for i in 0..<total {
            batch.writeMultipleIntegers(MessageType.clientChat.rawValue, UInt32(901), UInt32(902), UInt32(8), UInt64(i))
            if batch.readableBytes > 1 << 20 || i == total - 1 {
                sender.write(Array(batch.readableBytesView))
                batch.clear()
            }
        }
        XCTAssertEqual(receiver.done.wait(timeout: .now() + 180), .success, "the receiver timed out")
        XCTAssertEqual(receiver.result.received, total, "chats lost")
        XCTAssertEqual(receiver.result.outOfOrder, 0, "chats reordered")
    }
}

/// A blocking-socket CRC peer for tests that need to write and read raw bytes fast.
final class RawPeer: @unchecked Sendable {
    let fd: Int32
    var pending = ByteBuffer()
    let parser = MessageParser()
    let done = DispatchSemaphore(value: 0)
    var result = (received: 0, outOfOrder: 0)
    /// Microseconds to pause after every read: a reader slower than its senders.
    var readPause: useconds_t = 0

    init(port: Int) throws {
        fd = try Harness.rawConnect(port: port)
    }

    func close() { Glibc.close(fd) }

    func send(_ m: Message) { write(Array(m.encoded.readableBytesView)) }

    func write(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n <= 0 { return }
            off += n
        }
    }

    /// Reads messages until `stop` returns true (true), or the deadline or end of stream (false).
    func readUntil(timeout: TimeInterval, _ stop: (Message) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while Date() < deadline {
            while let m = try? parser.parse(&pending) { if stop(m) { return true } }
            pending.discardReadBytes()
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return false }
            if readPause > 0 { usleep(readPause) }
            pending.writeBytes(chunk[0..<n])
        }
        return false
    }
}
