import CRCCore
import CRCProtocol
import NIOCore
import CRCContract

/// Which way a message crossed a link. A link is named by the node below it (a server's link to
/// its upstream, or a client's link to its server): `up` is from that node toward the server above.
public enum WireDirection: String, Sendable, Codable {
    case up, down
}

/// One thing seen on a tapped link: a whole CRC message, or the link closing.
public struct WireRecord: Sendable {
    public enum Event: Sendable {
        case message(Message)
        /// Bytes that are not a CRC message (the tap stops decoding that direction of the connection).
        case undecodable(String)
        /// The connection closed (recorded once per connection, direction `up`).
        case closed
    }

    /// Seconds since the run started.
    public var time: Double
    /// The node below the link.
    public var link: String
    /// Which connection on that link (1, 2, … as the node reconnects).
    public var connection: Int
    public var direction: WireDirection
    public var event: Event
    /// Passed on out of the default order by `explore`'s scheduler: chosen over an older message, or held back by such a choice.
    public var reordered = false

    public init(time: Double, link: String, connection: Int, direction: WireDirection, event: Event, reordered: Bool = false) {
        self.time = time
        self.link = link
        self.connection = connection
        self.direction = direction
        self.event = event
        self.reordered = reordered
    }

    public var message: Message? {
        if case .message(let m) = event { return m }
        return nil
    }

    /// One line of `wire.jsonl`: when, where, which way, and the decoded message with its bytes.
    public func jsonLine(from: String, to: String) -> String {
        var fields: [(String, JSONValue)] = [
            ("t", .double((time * 1e6).rounded() / 1e6)), ("link", .string(link)), ("conn", .int(connection)),
            ("dir", .string(direction.rawValue)), ("from", .string(from)), ("to", .string(to)),
        ]
        switch event {
        case .closed:
            fields.append(("type", .string("closed")))
        case .undecodable(let why):
            fields += [("type", .string("undecodable")), ("error", .string(why))]
        case .message(let m):
            fields += Self.fields(of: m)
            fields.append(("hex", .string(m.hex)))
        }
        if reordered { fields.append(("reordered", .bool(true))) }
        return JSONValue.object(Dictionary(fields, uniquingKeysWith: { a, _ in a })).text
    }

    /// The record as the report reads it.
    public func row(from: String, to: String) -> WireRow? {
        var row = WireRow(t: time, link: link, conn: connection, dir: direction.rawValue, from: from, to: to, type: "closed")
        guard case .message(let m) = event else { return nil }
        if reordered { row.reordered = true }
        switch m {
        case .serverRegistration(let r), .clientRegistration(let r):
            row.type = m.type == .serverRegistration ? "server_registration" : "client_registration"
            row.source = r.sourceID
            row.lastHop = r.lastHopID
            row.name = r.name.utf8String
        case .status(let s):
            row.type = "status"; row.source = s.sourceID; row.destination = s.destinationID
            row.code = Int(s.code.rawValue); row.text = s.text.utf8String
        case .serverQuit(let q):
            row.type = "server_quit"; row.source = q.sourceID; row.text = q.text.utf8String
        case .clientChat(let c):
            row.type = "chat"; row.source = c.sourceID; row.destination = c.destinationID; row.text = c.text.utf8String
        case .clientQuit(let q):
            row.type = "client_quit"; row.source = q.sourceID; row.text = q.text.utf8String
        }
        return row
    }

    static func fields(of m: Message) -> [(String, JSONValue)] {
        switch m {
        case .serverRegistration(let r), .clientRegistration(let r):
            return [("type", .string(m.type == .serverRegistration ? "server_registration" : "client_registration")),
                    ("source", .int(Int(r.sourceID))), ("last_hop", .int(Int(r.lastHopID))),
                    ("name", .string(r.name.utf8String)), ("info", .string(r.info.utf8String))]
        case .status(let s):
            return [("type", .string("status")), ("source", .int(Int(s.sourceID))), ("destination", .int(Int(s.destinationID))),
                    ("code", .int(Int(s.code.rawValue))), ("text", .string(s.text.utf8String))]
        case .serverQuit(let q):
            return [("type", .string("server_quit")), ("source", .int(Int(q.sourceID))),
                    ("replacement", .int(Int(q.replacementID))), ("text", .string(q.text.utf8String))]
        case .clientChat(let c):
            return [("type", .string("chat")), ("source", .int(Int(c.sourceID))), ("destination", .int(Int(c.destinationID))),
                    ("text", .string(c.text.utf8String))]
        case .clientQuit(let q):
            return [("type", .string("client_quit")), ("source", .int(Int(q.sourceID))), ("text", .string(q.text.utf8String))]
        }
    }
}

/// "server registration of 101 (last hop 3)", "chat 101 → 104 \"hi\"": a message as a person reads it.
public func describe(_ m: Message) -> String {
    switch m {
    case .serverRegistration(let r): return "server registration of \(r.sourceID) (last hop \(r.lastHopID))"
    case .clientRegistration(let r): return "client registration of \(r.sourceID) (last hop \(r.lastHopID))"
    case .status(let s): return "status \(s.code) \(s.sourceID) → \(s.destinationID) \"\(s.text.utf8String)\""
    case .serverQuit(let q): return "server quit of \(q.sourceID)"
    case .clientChat(let c): return "chat \(c.sourceID) → \(c.destinationID) \"\(c.text.utf8String)\""
    case .clientQuit(let q): return "client quit of \(q.sourceID) \"\(q.text.utf8String)\""
    }
}
