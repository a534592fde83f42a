import Foundation

/// What a run leaves behind for its report (`logs/<run>/run.json`): the tree, the steps with their
/// times, the chats, and the verdict. The messages themselves are in `wire.jsonl`.
public struct RunRecord: Codable, Sendable {
    public struct Server: Codable, Sendable {
        public var id: UInt32
        public var name: String
        public var upstream: String?
        public var foreign: Bool
        public var refused: Bool
    }
    public struct Client: Codable, Sendable {
        public var id: UInt32
        public var name: String
        public var server: String
        public var refused: Bool
    }
    public struct StepMark: Codable, Sendable {
        public var index: Int
        public var summary: String
        /// Seconds since the run started (the wire's clock): when the step began, and when the
        /// network had converged again (nil: it did not).
        public var start: Double
        public var converged: Double?
        public var fault: Bool
    }
    public struct Chat: Codable, Sendable {
        public var from: String
        public var to: String
        public var source: UInt32
        public var destination: UInt32
        public var text: String
        public var expected: String
        /// The crossings the tree prescribes ("link/up"), in order.
        public var crossings: [String]
    }

    public var name: String
    public var file: String
    public var runID: String
    public var started: String
    public var servers: [Server]
    public var clients: [Client]
    public var steps: [StepMark]
    public var chats: [Chat]
    /// nil for `up` (no verdict); else whether the scenario passed, where it failed and why.
    public var passed: Bool?
    public var failedAt: String?
    public var differences: [String]
    public var error: String?
    public var tapped: Bool
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case name, file, runID = "run_id", started, servers, clients, steps, chats, passed, failedAt = "failed_at",
             differences, error, tapped, seconds
    }
}

/// One line of `wire.jsonl`, as the report reads it back.
public struct WireRow: Codable, Sendable {
    public var t: Double
    public var link: String
    public var conn: Int?
    public var dir: String
    public var from: String
    public var to: String
    public var type: String
    public var source: UInt32?
    public var destination: UInt32?
    public var lastHop: UInt32?
    public var code: Int?
    public var text: String?
    public var name: String?
    /// Delivered out of the default order by `explore`'s scheduler.
    public var reordered: Bool?

    enum CodingKeys: String, CodingKey {
        case t, link, conn, dir, from, to, type, source, destination, lastHop = "last_hop", code, text, name, reordered
    }

    public init(t: Double, link: String, conn: Int?, dir: String, from: String, to: String, type: String) {
        self.t = t
        self.link = link
        self.conn = conn
        self.dir = dir
        self.from = from
        self.to = to
        self.type = type
    }

    /// Reads `wire.jsonl`; lines that do not parse are skipped.
    public static func read(_ url: URL) -> [WireRow] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(WireRow.self, from: Data($0)) }
    }
}
