import CRCCore
import Logging
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A swift-log handler that writes one JSON object a line: `ts`, `level`, `event` (the log
/// message) and every metadata key. Integer metadata is written as JSON numbers.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let sink: LineSink

    public init(sink: LineSink) {
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":\(JSON.string(Self.timestamp())),\"level\":\(JSON.string(event.level.rawValue)),\"event\":\(JSON.string(event.message.description))"
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for key in merged.keys.sorted() {
            line += ",\(JSON.string(key)):\(JSON.value(merged[key]!))"
        }
        line += "}\n"
        sink.write(line)
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return isoTimestamp(year: Int(tmv.tm_year) + 1900, month: Int(tmv.tm_mon) + 1, day: Int(tmv.tm_mday),
                            hour: Int(tmv.tm_hour), minute: Int(tmv.tm_min), second: Int(tmv.tm_sec),
                            microsecond: Int(ts.tv_nsec / 1000))
    }
}

/// Appends whole lines to a file, each line flushed as it is written so followers see it at once.
public final class LineSink: @unchecked Sendable {
    private let file: UnsafeMutablePointer<FILE>
    private let lock = NIOLock()

    public init(path: String) throws {
        guard let f = fopen(path, "a") else {
            throw LineSinkError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        file = f
    }

    public func write(_ line: String) {
        lock.withLock {
            fputs(line, file)
            fflush(file)
        }
    }
}

public enum LineSinkError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open log file \(path): \(reason)"
        }
    }
}

/// JSON text helpers for log lines.
public enum JSON {
    public static func string(_ s: String) -> String { JSONValue.quote(s) }

    static func value(_ v: Logger.Metadata.Value) -> String {
        switch v {
        case .string(let s): return string(s)
        case .stringConvertible(let c):
            if c is any BinaryInteger || c is Bool { return c.description }
            return string(c.description)
        case .array(let a): return "[" + a.map(value).joined(separator: ",") + "]"
        case .dictionary(let d): return "{" + d.keys.sorted().map { string($0) + ":" + value(d[$0]!) }.joined(separator: ",") + "}"
        }
    }
}
