import CRCProcess
import CRCProtocol
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A blocking-socket CRC client for measurements: no event loop between the bench and the wire.
/// One end of a benchmark: writes a pipelined load, or counts messages as they arrive.
protocol BenchLink: AnyObject, Sendable {
    var fd: Int32 { get }
    func writeAll(_ bytes: [UInt8]) throws
    func receive(count: Int, timeout: Double) -> RawClient.ReceiveResult
}

final class RawClient: BenchLink, @unchecked Sendable {  // used by one thread at a time: the bench hands each client to a single worker
    let fd: Int32
    let id: UInt32
    var pending = ByteBuffer()
    let parser = MessageParser(limits: Limits(maxTextLength: 1 << 20))
    var chunk = [UInt8](repeating: 0, count: 1 << 20)

    init(port: Int, id: UInt32) throws {
        self.id = id
        fd = try BlockingSocket.connect(port: port, noDelay: true)
        try writeAll(Array(Message.clientRegistration(Registration(sourceID: id, lastHopID: 0, name: "bench\(id)", info: "")).encoded.readableBytesView))
        _ = try readUntil(timeout: 10) { if case .status(let s) = $0, s.code == .welcome { return true }; return false }
    }

    deinit { close(fd) }

    func writeAll(_ bytes: [UInt8]) throws { try writeAllBytes(fd, bytes) }

    func waitForUser(_ user: UInt32) throws {
        _ = try readUntil(timeout: 10) { if case .clientRegistration(let r) = $0, r.sourceID == user { return true }; return false }
    }

    private func readUntil(timeout: Double, _ match: (Message) -> Bool) throws -> Message {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while monotonicNanos() < deadline {
            while let m = try parser.parse(&pending) { if match(m) { return m } }
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { throw ClusterError("connection closed") }
            pending.writeBytes(chunk[0..<n])
        }
        throw ClusterError("timed out")
    }

    struct ReceiveResult {
        var received = 0
        var outOfOrder = 0
        var finishedAt: UInt64 = 0
        var done = false
    }

    func receive(count: Int, timeout: Double) -> ReceiveResult { receiveChats(count: count, timeout: timeout) }

    /// Reads `count` chats, checking that their sequence numbers arrive in order.
    func receiveChats(count: Int, timeout: Double) -> ReceiveResult {
        var r = ReceiveResult()
        var expected: UInt64? = nil
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        outer: while r.received < count {
            while let m = try? parser.parse(&pending) {
                if case .clientChat(let c) = m {
                    let seq = c.text.getInteger(at: c.text.readerIndex, as: UInt64.self) ?? 0
                    if let e = expected, seq != e { r.outOfOrder += 1 }
                    expected = seq + 1
                    r.received += 1
                    if r.received == count { break outer }
                }
            }
            if monotonicNanos() > deadline { break }
            pending.discardReadBytes()
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            pending.writeBytes(chunk[0..<n])
        }
        r.finishedAt = monotonicNanos()
        r.done = true
        return r
    }
}
