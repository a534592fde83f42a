/// The four attributes the course's harness grades on a server object (docs/protocol.md, "The
/// course's Python classes"), as crc-cluster's class host reports them, and their check: against
/// what the server must know, and against what reached it on the wire. Pure.
public struct CourseAttributes: Codable, Sendable, Equatable {
    public struct Host: Codable, Sendable, Equatable {
        public var id: UInt32
        /// The neighbour it is reached through, when the entry says (nil: no first-link attribute found).
        public var firstLink: UInt32?
        public init(id: UInt32, firstLink: UInt32?) {
            self.id = id
            self.firstLink = firstLink
        }
        enum CodingKeys: String, CodingKey { case id, firstLink = "first_link" }
    }

    public var hostsDB: [Host]
    public var adjacentServerIDs: [UInt32]
    public var adjacentUserIDs: [UInt32]
    public var statusUpdatesLog: [String]
    /// Attributes the object does not have (each then reads as empty).
    public var missing: [String]
    /// The traceback of an exception that ended the object's `run()`.
    public var error: String?

    public init(hostsDB: [Host], adjacentServerIDs: [UInt32], adjacentUserIDs: [UInt32], statusUpdatesLog: [String],
                missing: [String] = [], error: String? = nil) {
        self.hostsDB = hostsDB
        self.adjacentServerIDs = adjacentServerIDs
        self.adjacentUserIDs = adjacentUserIDs
        self.statusUpdatesLog = statusUpdatesLog
        self.missing = missing
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case hostsDB = "hosts_db", adjacentServerIDs = "adjacent_server_ids", adjacentUserIDs = "adjacent_user_ids",
             statusUpdatesLog = "status_updates_log", missing, error
    }

    /// Every difference between the object and what the server must know, in the object's own
    /// words (`hosts_db of rivendale lacks 3 (elrond)`), each saying whether the wire agrees: an
    /// object that forgets what reached it, or knows what never did, is told so.
    /// `forgiven`: statuses the wire profile forgives (the duplicate-id answers to the course
    /// servers' harmless echoes), which the object may log as it likes.
    public static func diff(server: String, attributes got: CourseAttributes, expected want: NetworkModel.ServerState,
                            wire: ConvergenceChecker.ServerObservation, forgiven: [String] = [], label: (UInt32) -> String) -> [Difference] {
        var out: [Difference] = []
        func note(_ attribute: String, _ text: String) {
            out.append(Difference(node: server, field: .classAttribute(attribute), detail: text))
        }
        for name in got.missing {
            note(name, "is not an attribute of the object (the course's harness grades it)")
        }
        let hosts = Dictionary(got.hostsDB.map { ($0.id, $0.firstLink) }, uniquingKeysWith: { a, _ in a })
        for id in want.hosts.keys.sorted() where hosts[id] == nil {
            note("hosts_db", "lacks \(label(id))" + (wire.hosts[id] != nil
                ? ", which reached it on the wire: the object forgot it or never recorded it" : ", which never reached it on the wire either"))
        }
        for id in hosts.keys.sorted() where want.hosts[id] == nil {
            note("hosts_db", "holds \(label(id))" + (wire.hosts[id] == nil
                ? ", which never reached it on the wire: the object knows something it was never told" : ", which it should have forgotten"))
        }
        for (id, link) in want.hosts.sorted(by: { $0.key < $1.key }) where link != 0 {
            guard let got = hosts[id], let firstLink = got, firstLink != link else { continue }
            note("hosts_db", "reaches \(label(id)) through \(label(firstLink)), expected through \(label(link))")
        }
        func compareSet(_ attribute: String, _ got: [UInt32], _ want: Set<UInt32>, _ onWire: Set<UInt32>) {
            let have = Set(got)
            for id in want.subtracting(have).sorted() {
                note(attribute, "lacks \(label(id))" + (onWire.contains(id) ? ", which the wire shows as adjacent" : ""))
            }
            for id in have.subtracting(want).sorted() {
                note(attribute, "holds \(label(id))" + (onWire.contains(id) ? "" : ", which the wire does not show as adjacent"))
            }
        }
        compareSet("adjacent_server_ids", got.adjacentServerIDs, want.adjacentServers, wire.adjacentServers)
        compareSet("adjacent_user_ids", got.adjacentUserIDs, want.adjacentClients, wire.adjacentClients)
        var log = got.statusUpdatesLog
        for text in forgiven { if let i = log.firstIndex(of: text) { log.remove(at: i) } }
        if log != want.statusLog {
            let quoted = { (l: [String]) in l.isEmpty ? "nothing" : l.map { "\"\($0)\"" }.joined(separator: ", ") }
            note("status_updates_log", "holds \(quoted(log)), expected \(quoted(want.statusLog))"
                 + (wire.statusLog == want.statusLog ? " (the wire carried the expected statuses to it)" : ""))
        }
        return out
    }
}
