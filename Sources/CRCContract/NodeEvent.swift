#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One event a node wrote: a line of a server's log (JSON in its log file, readable text on its
/// stderr) or of a client's `--json` output. Servers and clients write their events by `Kind`, and
/// crc-cluster and the tests read them back as `NodeEvent`s, so a renamed or new event is a compile
/// error on both sides, not a checker that silently stops matching.
public struct NodeEvent: Sendable, Equatable {
    /// Every event name a node writes. The raw value is the `event` field on the wire.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        // A server's log (CRCServer: ServerRuntime+Logging and the shell around it).
        case ready, signal, fatal
        case linkUp = "link_up", linkDown = "link_down", linkClosing = "link_closing", linkError = "link_error"
        case registered, duplicateRefused = "duplicate_refused", registrationEcho = "registration_echo"
        case ownRegistrationRefused = "own_registration_refused"
        case forwarded, chat, chatUnknownDestination = "chat_unknown_destination"
        case status, statusRouted = "status_routed", statusDropped = "status_dropped"
        case clientQuit = "client_quit", serverQuit = "server_quit"
        case upstreamLost = "upstream_lost", hostsLost = "hosts_lost", dropped
        case rejoinAttempt = "rejoin_attempt", rejoinFailed = "rejoin_failed", rejoined
        case upstreamSeedName = "upstream_seed_name"
        case connectionRefused = "connection_refused", acceptFailed = "accept_failed", registerTimeout = "register_timeout"
        case protocolError = "protocol_error", slowConsumer = "slow_consumer"
        // A client's output (CRCClient: ClientSession, ClientHost); `registered`, `chat` and
        // `status` are shared with the server's names above.
        case refused, userJoined = "user_joined", userLeft = "user_left", disconnected
        case help, error, users, state, digest, exited
        // crc-cluster's class host (CRCGrading): where to ask a course-style object for its attributes.
        case classState = "class_state"
    }

    public var kind: Kind
    /// Every field of the line but `event`.
    public var fields: [String: JSONValue]

    public init(_ kind: Kind, _ fields: [String: JSONValue] = [:]) {
        self.kind = kind
        self.fields = fields
    }

    public subscript(key: String) -> JSONValue? { fields[key] }
    public func string(_ key: String) -> String? { fields[key]?.stringValue }
    public func int(_ key: String) -> Int? { fields[key]?.intValue }
    public func id(_ key: String) -> UInt32? { fields[key]?.intValue.flatMap { UInt32(exactly: $0) } }
    public func bool(_ key: String) -> Bool? { fields[key]?.boolValue }
    public func ints(_ key: String) -> [Int]? {
        guard case .array(let items)? = fields[key] else { return nil }
        let ints = items.compactMap(\.intValue)
        return ints.count == items.count ? ints : nil
    }

    /// The line as a node writes it (keys sorted, `event` among them).
    public var text: String {
        var all = fields
        all["event"] = .string(kind.rawValue)
        return JSONValue.object(all).text
    }

    /// The event as one of the contract's types (`ClientDigest`, `ClientStateReport`, `ReadyLine`, …).
    public func decode<T: Decodable>(_ type: T.Type) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

extension NodeEvent {
    /// A JSON line a node wrote; nil when it is not a JSON object or names no event this contract knows.
    public init?(line: some StringProtocol) {
        guard line.first == "{", let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8)),
              case .string(let name)? = object["event"], let kind = Kind(rawValue: name) else { return nil }
        var fields = object
        fields["event"] = nil
        self.init(kind, fields)
    }

    /// The event a JSON line names, read without decoding the line (a large network's server logs
    /// hold millions of lines and a reader wants a few kinds): the value of its top-level `event`
    /// key, with or without spaces around the colon (Python's json.dumps puts one). A quote escaped
    /// inside a string value never matches, as the key needs a bare quote after `event`.
    public static func kind(of line: some StringProtocol) -> Kind? {
        kind(ofBytes: Array(line.utf8)[...])
    }

    /// The events of `kinds` in a node's log (one JSON object a line), in order. Each line's kind is
    /// read before the line is decoded: a large network's server logs hold hundreds of thousands of
    /// lines, and a reader wants a few.
    public static func events(inLog bytes: [UInt8], of kinds: Set<Kind>) -> [NodeEvent] {
        var out: [NodeEvent] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            let line = bytes[start..<end]
            if let kind = kind(ofBytes: line), kinds.contains(kind), let e = NodeEvent(line: String(decoding: line, as: UTF8.self)) {
                out.append(e)
            }
            start = end + 1
        }
        return out
    }

    /// `kind(of:)` over the bytes of one line.
    public static func kind(ofBytes line: ArraySlice<UInt8>) -> Kind? {
        let key = Array("\"event\"".utf8)
        let quote = UInt8(ascii: "\""), space = UInt8(ascii: " "), colon = UInt8(ascii: ":")
        var i = line.startIndex
        let end = line.endIndex
        while i + key.count <= end {
            if line[i] == quote, line[i..<(i + key.count)].elementsEqual(key) {
                var j = i + key.count
                while j < end, line[j] == space { j += 1 }
                if j < end, line[j] == colon {
                    j += 1
                    while j < end, line[j] == space { j += 1 }
                    guard j < end, line[j] == quote else { return nil }
                    j += 1
                    let start = j
                    while j < end, line[j] != quote { j += 1 }
                    guard j < end else { return nil }
                    return Kind(rawValue: String(decoding: line[start..<j], as: UTF8.self))
                }
            }
            i += 1
        }
        return nil
    }

    /// A line of crc-server's readable stderr (`12:00:01.234 info registered id=2 kind=server …`)
    /// as the event its log file holds: numbers as ints, `[1,2]` as arrays of ints, `true`/`false`
    /// as booleans, quoted values unquoted. nil when the line is not in that form.
    public init?(serverText line: String) {
        let chars = Array(line)
        var i = 0
        func word() -> String {
            let start = i
            while i < chars.count, chars[i] != " " { i += 1 }
            defer { while i < chars.count, chars[i] == " " { i += 1 } }
            return String(chars[start..<i])
        }
        let time = word(), level = word(), event = word()
        guard time.count >= 8, time.dropFirst(2).first == ":", Self.levels.contains(level), let kind = Kind(rawValue: event) else { return nil }
        var out: [String: JSONValue] = ["level": .string(level)]
        while i < chars.count {
            let keyStart = i
            while i < chars.count, chars[i] != "=", chars[i] != " " { i += 1 }
            guard i < chars.count, chars[i] == "=" else { break }
            let key = String(chars[keyStart..<i])
            i += 1
            var value = ""
            if i < chars.count, chars[i] == "\"" {
                i += 1
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    value.append(chars[i])
                    i += 1
                }
                i += 1
                out[key] = .string(value)
            } else {
                while i < chars.count, chars[i] != " " { value.append(chars[i]); i += 1 }
                if value.hasPrefix("["), value.hasSuffix("]") {
                    out[key] = .array(value.dropFirst().dropLast().split(separator: ",").compactMap { Int($0) }.map { .int($0) })
                } else if let n = Int(value) {
                    out[key] = .int(n)
                } else if value == "true" || value == "false" {
                    out[key] = .bool(value == "true")
                } else {
                    out[key] = .string(value)
                }
            }
            while i < chars.count, chars[i] == " " { i += 1 }
        }
        self.init(kind, out)
    }

    static let levels: Set<String> = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var intValue: Int? { if case .int(let i) = self { i } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var doubleValue: Double? {
        switch self {
        case .double(let d): d
        case .int(let i): Double(i)
        default: nil
        }
    }
}
