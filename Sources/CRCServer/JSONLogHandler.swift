import CRCCore
import CRCTerminal
import CSystemShims
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
import CRCContract
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
    /// The lowest level either output takes. Setting it sets the file's level, and the terminal's
    /// to the same or to the `--stderr-level` floor it was made with, whichever is higher; so a
    /// level set is the level read back (swift-log's `LogHandler` contract).
    public var logLevel: Logger.Level {
        get { min(textLevel, json == nil ? .critical : jsonLevel) }
        set {
            jsonLevel = newValue
            textLevel = max(textFloor, newValue)
            if json == nil { textLevel = newValue }
        }
    }
    /// The terminal's own level (`--stderr-level`), below which it never goes.
    private let textFloor: Logger.Level
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
        self.textFloor = textLevel
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

/// Appends whole lines to a file descriptor. Lines are buffered and written together once per
/// turn of the event loop given to `flushOnTurn` (so a burst of events costs one write, and a
/// reader following the file sees each burst a moment after it happened); without one, each line
/// is written at once. `finish(within:)` writes what is left before the server exits.
///
/// A server must never wait for whoever reads its stderr: when stderr is a pipe (a launcher such
/// as crc-cluster reading it), the pipe is made non-blocking, lines the reader has not taken yet
/// wait here up to `pipeBacklogLimit` bytes, and lines past that are dropped and counted (the log
/// file, written in full, keeps every event). A pipe the reader drained gets a note of how many
/// lines it missed.
public final class LineSink: @unchecked Sendable {  // every mutable field is guarded by `lock`
    private let fd: Int32
    /// Never block on this descriptor (a pipe): keep a bounded backlog and drop past it.
    private let lossy: Bool
    private let lock = NIOLock()
    private var loop: EventLoop?
    private var flushPending = false
    private var retryPending = false
    private var buffer: [UInt8] = []
    private var written = 0
    private var droppedLines = 0
    /// How many bytes may wait for a slow pipe reader before lines are dropped.
    public static let pipeBacklogLimit = 1 << 20

    public init(path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LineSinkError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        self.fd = fd
        self.lossy = false
    }

    /// stderr, as a sink; non-blocking (lossy past the backlog limit) when it is a pipe.
    public static let standardError: LineSink = {
        let pipe = crc_is_fifo(2) == 1
        if pipe { _ = crc_set_nonblocking(2, 1) }
        return LineSink(fd: 2, lossy: pipe)
    }()

    init(fd: Int32, lossy: Bool) {
        self.fd = fd
        self.lossy = lossy
    }

    /// From now on, write once per turn of `loop` instead of once per line.
    public func flushOnTurn(of loop: EventLoop) {
        lock.withLock { self.loop = loop }
    }

    /// Lines dropped so far because the pipe's reader was too slow.
    public var dropped: Int { lock.withLock { droppedLines } }

    public func write(_ line: String) {
        let schedule: EventLoop? = lock.withLock {
            if lossy, buffer.count - written + line.utf8.count > Self.pipeBacklogLimit {
                droppedLines += 1
            } else {
                buffer.append(contentsOf: line.utf8)
            }
            guard let loop else {
                drainLocked()
                return nil
            }
            if flushPending { return nil }
            flushPending = true
            return loop
        }
        schedule?.execute { self.flush() }
    }

    /// Writes what is buffered, as far as the descriptor takes it without waiting.
    public func flush() {
        let retry: EventLoop? = lock.withLock {
            flushPending = false
            drainLocked()
            guard written < buffer.count, let loop, !retryPending else { return nil }
            retryPending = true
            return loop
        }
        // A pipe that is full now: try again shortly, without holding up the loop.
        retry?.scheduleTask(in: .milliseconds(20)) {
            self.lock.withLock { self.retryPending = false }
            self.flush()
        }
    }

    /// Before exit: writes what is left, waiting at most `seconds` for a slow pipe reader.
    public func finish(within seconds: Double = 0.5) {
        let deadline = Double(DispatchTime.now().uptimeNanoseconds) / 1e9 + seconds
        while true {
            let done: Bool = lock.withLock {
                drainLocked()
                return written >= buffer.count
            }
            let left = deadline - Double(DispatchTime.now().uptimeNanoseconds) / 1e9
            if done || left <= 0 { return }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, Int32(max(1, left * 1000)))
        }
    }

    private func drainLocked() {
        if droppedLines > 0, lossy, written >= buffer.count {
            // The reader caught up: tell it what it missed (the log file has every line).
            buffer.append(contentsOf: "... \(droppedLines) log lines not shown: the reader of this output was too slow (the log file has them)\n".utf8)
            droppedLines = 0
        }
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n > 0 {
                written += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                if n < 0, errno != EAGAIN, errno != EWOULDBLOCK {
                    // The reader is gone (EPIPE) or the disk failed: nothing more will get through.
                    written = buffer.count
                }
                break
            }
        }
        if written >= buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
            written = 0
        } else if written > 1 << 16 {
            buffer.removeSubrange(0..<written)
            written = 0
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
