import CRCCore
import CRCTerminal
import Logging
import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The server's log, both outputs in one swift-log handler: readable text on stderr and, with a
/// log file, one JSON object a line (`ts`, `level`, `event` — the log message — then the event's
/// metadata in key order, then the logger's own: `server`, `server_id`, names no event uses).
/// Integer metadata is written as JSON numbers.
///
/// A busy server logs thousands of events a second, so the handler does little per line: the
/// logger's metadata is rendered once, timestamps come from `LogClock`, and lines are buffered and
/// written once per event-loop turn (see `LineSink`).
public struct ServerLogHandler: LogHandler {
    public var logLevel: Logger.Level {
        get { min(textLevel, json == nil ? .critical : jsonLevel) }
        set { textLevel = max(textLevel, newValue); jsonLevel = max(jsonLevel, newValue) }
    }
    public var metadata: Logger.Metadata = [:] {
        didSet { render() }
    }
    private var textLevel: Logger.Level
    private var jsonLevel: Logger.Level
    private let text: LineSink
    private let json: LineSink?
    private var jsonSuffix = ""
    private var textSuffix = ""

    public init(text: LineSink, textLevel: Logger.Level, json: LineSink?, jsonLevel: Logger.Level) {
        self.text = text
        self.textLevel = textLevel
        self.json = json
        self.jsonLevel = jsonLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private mutating func render() {
        jsonSuffix = ""
        textSuffix = ""
        for key in metadata.keys.sorted() {
            jsonSuffix += "," + JSON.string(key) + ":" + JSON.value(metadata[key]!)
            textSuffix += " " + key + "=" + Self.textValue(metadata[key]!)
        }
    }

    static func textValue(_ value: Logger.Metadata.Value) -> String {
        if case .array(let items) = value { return "[" + items.map(textValue).joined(separator: ",") + "]" }
        let text = value.description
        return text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? JSON.string(text) : text
    }

    public func log(event: LogEvent) {
        let ts = LogClock.shared.now()
        let keys = event.metadata.map { $0.keys.sorted() } ?? []
        if let json, event.level >= jsonLevel {
            var line = "{\"ts\":\"" + ts + "\",\"level\":\"" + event.level.rawValue + "\",\"event\":"
            JSONValue.quote(event.message.description, into: &line)
            for key in keys {
                line += ","
                JSONValue.quote(key, into: &line)
                line += ":" + JSON.value(event.metadata![key]!)
            }
            line += jsonSuffix + "}\n"
            json.write(line)
        }
        if event.level >= textLevel {
            // For a person: the time of day to the millisecond (the file has the full timestamp),
            // and values quoted when they hold spaces.
            let time = ts.dropFirst(11).prefix(12)
            var line = time + " " + event.level.rawValue + " " + event.message.description
            for key in keys { line += " " + key + "=" + Self.textValue(event.metadata![key]!) }
            line += textSuffix + "\n"
            text.write(line)
        }
    }
}

/// Appends whole lines to a file. Lines are buffered and written together once per turn of the
/// event loop given to `flushOnTurn` (so a burst of events costs one write, and a reader following
/// the file sees each burst a moment after it happened); without one, each line is written at once.
/// `flush()` writes what is buffered; the server calls it before it exits.
public final class LineSink: @unchecked Sendable {
    private let file: UnsafeMutablePointer<FILE>
    private let lock = NIOLock()
    private var loop: EventLoop?
    private var flushPending = false

    public init(path: String) throws {
        guard let f = fopen(path, "a") else {
            throw LineSinkError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        file = f
    }

    /// stderr, as a sink.
    public static let standardError = LineSink(file: fdopen(2, "w"))

    private init(file: UnsafeMutablePointer<FILE>) {
        self.file = file
    }

    /// From now on, write once per turn of `loop` instead of once per line.
    public func flushOnTurn(of loop: EventLoop) {
        lock.withLock { self.loop = loop }
    }

    public func write(_ line: String) {
        let schedule: EventLoop? = lock.withLock {
            fputs(line, file)
            guard let loop else {
                fflush(file)
                return nil
            }
            if flushPending { return nil }
            flushPending = true
            return loop
        }
        schedule?.execute { self.flush() }
    }

    public func flush() {
        lock.withLock {
            flushPending = false
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
