import CRCProtocol
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Everything the taps saw during one run, in the order the relays saw it (every relay of a run
/// shares one event loop, so that order is the real order across links).
public final class WireLog: Sendable {
    private let records = NIOLockedValueBox<[WireRecord]>([])
    private let start: UInt64

    /// `start`: the run's clock origin (`DispatchTime.now().uptimeNanoseconds` when it began).
    public init(start: UInt64 = DispatchTime.now().uptimeNanoseconds) { self.start = start }

    /// Who is told of every record as it is seen: `up`'s `watch` (key 0) and subscribers (the live view).
    private let observers = NIOLockedValueBox<(next: Int, all: [Int: @Sendable (WireRecord) -> Void])>((1, [:]))

    public func append(link: String, connection: Int, direction: WireDirection, _ event: WireRecord.Event, reordered: Bool = false) {
        let record = WireRecord(time: now, link: link, connection: connection, direction: direction, event: event, reordered: reordered)
        records.withLockedValue { $0.append(record) }
        let told = observers.withLockedValue { $0.all }
        for f in told.values { f(record) }
    }

    /// Seconds since the run started, on the clock the records use.
    public var now: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Called with every record as it is seen (`up`'s `watch on`); nil stops it.
    public func observe(_ f: (@Sendable (WireRecord) -> Void)?) { observers.withLockedValue { $0.all[0] = f } }

    /// Calls `f` with every record from now on, until `unsubscribe` with the key returned.
    public func subscribe(_ f: @escaping @Sendable (WireRecord) -> Void) -> Int {
        observers.withLockedValue { o in
            defer { o.next += 1 }
            o.all[o.next] = f
            return o.next
        }
    }

    public func unsubscribe(_ key: Int) { observers.withLockedValue { $0.all[key] = nil } }

    /// The records from position `index` on.
    public func records(from index: Int) -> [WireRecord] {
        records.withLockedValue { index < $0.count ? Array($0[index...]) : [] }
    }

    public var all: [WireRecord] { records.withLockedValue { $0 } }
    public var count: Int { records.withLockedValue { $0.count } }
}

/// Frames one direction of one tapped connection into CRC messages as the bytes pass: bytes are
/// forwarded untouched; the tap only reads a copy.
struct WireFramer {
    private var pending = ByteBuffer()
    private var failed = false
    private let parser = MessageParser(limits: .default)

    /// The whole messages completed by `bytes`, or the reason the stream stopped being CRC.
    mutating func feed(_ bytes: ByteBuffer) -> [WireRecord.Event] {
        guard !failed else { return [] }
        var chunk = bytes
        pending.writeBuffer(&chunk)
        var out: [WireRecord.Event] = []
        do {
            while let m = try parser.parse(&pending) { out.append(.message(m)) }
        } catch {
            failed = true
            out.append(.undecodable("\(error)"))
        }
        pending.discardReadBytes()
        return out
    }

    /// Splits `bytes` into whole messages, each with its own bytes, for a relay that holds them one
    /// by one (`DeliveryGate`). Once the stream stops being CRC, the rest passes as it comes.
    mutating func split(_ bytes: ByteBuffer) -> [(WireRecord.Event, ByteBuffer)] {
        var chunk = bytes
        if failed { return [(.undecodable("not CRC"), chunk)] }
        pending.writeBuffer(&chunk)
        var out: [(WireRecord.Event, ByteBuffer)] = []
        do {
            while true {
                let start = pending.readerIndex
                guard let m = try parser.parse(&pending) else { break }
                // The bytes it came in: back to its start, and read them (getters only reach readable bytes).
                let length = pending.readerIndex - start
                pending.moveReaderIndex(to: start)
                out.append((.message(m), pending.readSlice(length: length)!))
            }
        } catch {
            failed = true
            out.append((.undecodable("\(error)"), pending.readSlice(length: pending.readableBytes)!))
        }
        pending.discardReadBytes()
        return out
    }
}
