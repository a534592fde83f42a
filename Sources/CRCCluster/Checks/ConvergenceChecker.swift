/// Compares what a node was observed to hold with what the model says it must hold. Pure: the
/// prober in `ClusterRun` fetches observations (digests, `/state`, client states); this only says
/// what differs, so every rule of "converged" can be tested without a process.
public enum ConvergenceChecker {
    /// What a server was seen to hold.
    public struct ServerObservation: Sendable, Equatable {
        /// Every host it knows, with its first link.
        public var hosts: [UInt32: UInt32]
        public var adjacentServers: Set<UInt32>
        public var adjacentClients: Set<UInt32>
        public var statusLog: [String]
        /// The first message (hex) on each inbound server link.
        public var firstMessages: [String]

        public init(hosts: [UInt32: UInt32], adjacentServers: Set<UInt32>, adjacentClients: Set<UInt32>,
                    statusLog: [String], firstMessages: [String]) {
            self.hosts = hosts
            self.adjacentServers = adjacentServers
            self.adjacentClients = adjacentClients
            self.statusLog = statusLog
            self.firstMessages = firstMessages
        }
    }

    /// What a client was seen to hold.
    public struct ClientObservation: Sendable, Equatable {
        public var users: Set<UInt32>
        public var statusLog: [String]
        public var chatLog: [String]

        public init(users: Set<UInt32>, statusLog: [String], chatLog: [String]) {
            self.users = users
            self.statusLog = statusLog
            self.chatLog = chatLog
        }
    }

    /// A server: the model's expectation, hand-written overrides (`expect:`), and, at the end,
    /// the hand-written first messages of byte-level scenarios.
    public static func diff(server name: String, expected: NetworkModel.ServerState, firstMessages expectedFirsts: [String],
                            override: NodeExpectation? = nil, handWrittenFirstMessages: [String]? = nil,
                            observed got: ServerObservation) -> [Difference] {
        var want = expected
        if let hosts = override?.hosts { want.hosts = Dictionary(uniqueKeysWithValues: hosts.map { ($0, want.hosts[$0] ?? 0) }) }
        var diffs = setDiff(name, .hosts, want: Set(want.hosts.keys), got: Set(got.hosts.keys))
        for (id, link) in want.hosts.sorted(by: { $0.key < $1.key }) where link != 0 {
            if let g = got.hosts[id], g != link {
                diffs.append(Difference(node: name, field: .firstLink(id), detail: "expected \(link), found \(g)"))
            }
        }
        diffs += setDiff(name, .adjacentServers, want: Set(override?.adjacentServers ?? Array(want.adjacentServers)), got: got.adjacentServers)
        diffs += setDiff(name, .adjacentClients, want: Set(override?.adjacentClients ?? Array(want.adjacentClients)), got: got.adjacentClients)
        diffs += listDiff(name, .statusLog, want: override?.statusLog ?? want.statusLog, got: got.statusLog)
        let firsts = got.firstMessages.sorted()
        diffs += listDiff(name, .firstMessages, want: expectedFirsts.sorted(), got: firsts)
        if let seed = handWrittenFirstMessages {
            diffs += listDiff(name, .handWrittenFirstMessages, want: seed.sorted(), got: firsts)
        }
        return diffs
    }

    /// A client (overrides already applied to `expected`).
    public static func diff(client name: String, expected want: NetworkModel.ClientState, observed got: ClientObservation) -> [Difference] {
        setDiff(name, .users, want: want.users, got: got.users)
            + listDiff(name, .statusLog, want: want.statusLog, got: got.statusLog)
            + listDiff(name, .chatLog, want: want.chatLog, got: got.chatLog)
    }

    static func setDiff(_ node: String, _ field: Difference.Field, want: Set<UInt32>, got: Set<UInt32>) -> [Difference] {
        guard want != got else { return [] }
        return [Difference(node: node, field: field, missing: want.subtracting(got).sorted().map(String.init),
                           extra: got.subtracting(want).sorted().map(String.init))]
    }

    static func listDiff(_ node: String, _ field: Difference.Field, want: [String], got: [String]) -> [Difference] {
        guard want != got else { return [] }
        var missing = want, extra: [String] = []
        for g in got {
            if let i = missing.firstIndex(of: g) { missing.remove(at: i) } else { extra.append(g) }
        }
        let detail = missing.isEmpty && extra.isEmpty ? "same entries in another order: \(got)" : ""
        return [Difference(node: node, field: field, missing: missing.map { "\"\($0)\"" }, extra: extra.map { "\"\($0)\"" }, detail: detail)]
    }
}

/// Something the network got wrong: which node, which field, what was missing or extra.
public struct Difference: Sendable, CustomStringConvertible, Equatable {
    /// What differs. Printed as the names of the fields of `/state` and client states where there
    /// is one, so a difference reads like the JSON it came from.
    public enum Field: Hashable, Sendable, CustomStringConvertible {
        // A node's state, against the model.
        case hosts, firstLink(UInt32), adjacentServers, adjacentClients, statusLog, firstMessages, handWrittenFirstMessages
        case users, chatLog
        // Why a node could not be compared.
        case process, unobservable, state
        // Behaviour seen on the wire or in the logs.
        case registration, lastHop, chatPath, unknownDestination, quit
        // An attribute of a course-style server object (`hosts_db` …), named as the course does.
        case classAttribute(String)

        public var description: String {
            switch self {
            case .hosts: return "hosts"
            case .firstLink(let id): return "first_link[\(id)]"
            case .adjacentServers: return "adjacent_servers"
            case .adjacentClients: return "adjacent_clients"
            case .statusLog: return "status_log"
            case .firstMessages: return "first_messages"
            case .handWrittenFirstMessages: return "first_messages (hand-written)"
            case .users: return "users"
            case .chatLog: return "chat_log"
            case .process: return "process"
            case .unobservable: return "unobservable"
            case .state: return "state"
            case .registration: return "registration"
            case .lastHop: return "last hop"
            case .chatPath: return "chat path"
            case .unknownDestination: return "unknown destination"
            case .quit: return "quit"
            case .classAttribute(let name): return name
            }
        }
    }

    public var node: String
    public var field: Field
    public var missing: [String] = []
    public var extra: [String] = []
    public var detail: String = ""

    public init(node: String, field: Field, missing: [String] = [], extra: [String] = [], detail: String = "") {
        self.node = node
        self.field = field
        self.missing = missing
        self.extra = extra
        self.detail = detail
    }

    public var description: String {
        if case .classAttribute(let attribute) = field { return "\(attribute) of \(node) \(detail)" }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
        if !extra.isEmpty { parts.append("extra \(extra.joined(separator: ", "))") }
        if !detail.isEmpty { parts.append(detail) }
        return "\(node) \(field): \(parts.joined(separator: "; "))"
    }
}

