import Foundation

/// A server in a topology file.
public struct ServerSpec: Decodable, Sendable, YAMLKeyed {
    public var id: UInt32
    public var name: String
    public var info: String?
    /// The name of the server this one joins; none for a root.
    public var upstream: String?
    /// A fixed port; by default any free port is used.
    public var port: Int?
    /// Another implementation's command (executable and leading arguments). It is given exactly the
    /// seed's options (`--id --servername --port --info [--connect_to_host --connect_to_port]
    /// --log-file`), or `args` when given.
    public var command: [String]?
    /// The arguments for `command`, as a template (see `ArgumentTemplate`); by default the
    /// topology's `server_args`, else the seed's options.
    public var args: [String]?
    /// This server reuses an id on purpose and must be refused (the duplicate-id scenarios).
    public var refused: Bool?
    /// false: not started with the network; a `start` step starts it.
    public var start: Bool?
    /// For `check --attach`: where a server crc-cluster did not start listens (with `port`), and
    /// its monitoring port if it has one.
    public var host: String?
    public var monitor: Int?

    public static let yamlKeys = ["id", "name", "info", "upstream", "port", "command", "args", "refused", "start", "host", "monitor"]

    public init(id: UInt32, name: String, info: String? = nil, upstream: String? = nil) {
        self.id = id
        self.name = name
        self.info = info
        self.upstream = upstream
    }
}

/// A client in a topology file.
public struct ClientSpec: Decodable, Sendable, YAMLKeyed {
    public var id: UInt32
    public var name: String
    public var info: String?
    /// The name of the server it attaches to.
    public var server: String
    /// Another implementation's command; given the seed client's options (`--id --serverhost
    /// --serverport --username --info --log-file`), or `args` (a template) when given.
    public var command: [String]?
    public var args: [String]?
    public var refused: Bool?
    public var start: Bool?
    /// For `check --attach`: the client runs elsewhere (a Pod, a student's machine); crc-cluster
    /// neither starts nor asks it, and the servers' tables must list it.
    public var external: Bool?

    public static let yamlKeys = ["id", "name", "info", "server", "command", "args", "refused", "start", "external"]

    public init(id: UInt32, name: String, info: String? = nil, server: String) {
        self.id = id
        self.name = name
        self.info = info
        self.server = server
    }
}

/// One thing a scenario does, then waits for the network to settle and checks it.
public enum Step: Sendable, Equatable {
    case start(String)
    case stop(String)
    case kill(String)
    /// Stop a running node gracefully (if it runs) and start it again with the same id and port.
    case restart(String)
    /// Cut the link between a server and its upstream (through crc-cluster's relay on that link).
    case cut(String)
    /// Hold every byte on a server's upstream link for this many milliseconds, both ways.
    case delay(String, milliseconds: Int)
    /// Undo cut and delay on a server's upstream link.
    case heal(String)
    case chat(from: String, to: String, text: String)
    case quit(client: String, text: String)
    case settle

    public var summary: String {
        switch self {
        case .start(let n): return "start \(n)"
        case .stop(let n): return "stop \(n)"
        case .kill(let n): return "kill \(n)"
        case .restart(let n): return "restart \(n)"
        case .cut(let n): return "cut \(n)'s upstream link"
        case .delay(let n, let ms): return "delay \(n)'s upstream link by \(ms) ms"
        case .heal(let n): return "heal \(n)'s upstream link"
        case .chat(let f, let t, let text): return "chat \(f) → \(t): \(text)"
        case .quit(let c, let text): return "quit \(c): \(text)"
        case .settle: return "settle"
        }
    }

    /// The server whose upstream link this step acts on, for link faults.
    public var faultedLink: String? {
        switch self {
        case .cut(let n), .heal(let n), .delay(let n, _): return n
        default: return nil
        }
    }
}

/// A step as written in a scenario: what to do, and optionally how soon the network must have
/// settled afterwards (`within`, seconds; by default the run's settle timeout).
public struct ScenarioStep: Sendable, Equatable {
    public var action: Step
    public var within: Double?

    public init(_ action: Step, within: Double? = nil) {
        self.action = action
        self.within = within
    }

    public var summary: String {
        within.map { "\(action.summary) (within \($0) s)" } ?? action.summary
    }
}

struct ChatStepSpec: Decodable, YAMLKeyed {
    var from: String
    var to: String
    var text: String
    static let yamlKeys = ["from", "to", "text"]
}

struct QuitStepSpec: Decodable, YAMLKeyed {
    var client: String
    var text: String?
    static let yamlKeys = ["client", "text"]
}

struct DelayStepSpec: Decodable, YAMLKeyed {
    var link: String
    var ms: Int
    static let yamlKeys = ["link", "ms"]
}

struct StepSpec: Decodable, YAMLKeyed {
    var start: String?
    var stop: String?
    var kill: String?
    var restart: String?
    var cut: String?
    var delay: DelayStepSpec?
    var heal: String?
    var chat: ChatStepSpec?
    var quit: QuitStepSpec?
    var settle: String?
    var within: Double?
    static let yamlKeys = ["start", "stop", "kill", "restart", "cut", "delay", "heal", "chat", "quit", "settle", "within"]
}

extension ScenarioStep: Decodable {
    static let forms = "settle, start: NODE, stop: NODE, kill: NODE, restart: NODE, cut: SERVER, delay: {link: SERVER, ms: N}, heal: SERVER, chat: {from, to, text}, quit: {client, text}; optionally with within: SECONDS"

    public init(from decoder: Decoder) throws {
        if let s = try? decoder.singleValueContainer().decode(String.self), s == "settle" {
            self.init(.settle)
            return
        }
        let spec = try decoder.singleValueContainer().decode(StepSpec.self)
        var given = [spec.start.map { Step.start($0) }, spec.stop.map { .stop($0) }, spec.kill.map { .kill($0) },
                     spec.restart.map { .restart($0) }, spec.cut.map { .cut($0) },
                     spec.delay.map { .delay($0.link, milliseconds: $0.ms) }, spec.heal.map { .heal($0) },
                     spec.chat.map { .chat(from: $0.from, to: $0.to, text: $0.text) },
                     spec.quit.map { .quit(client: $0.client, text: $0.text ?? "") }].compactMap { $0 }
        if spec.settle != nil { given.append(.settle) }
        guard given.count == 1 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "a step is one of: \(Self.forms)"))
        }
        if let w = spec.within, !(w > 0) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "within must be a positive number of seconds"))
        }
        if case .delay(_, let ms) = given[0], !(0...60_000).contains(ms) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "delay ms must be 0-60000"))
        }
        self.init(given[0], within: spec.within)
    }
}

/// Hand-written expectations for one node; each field given replaces the derived one.
public struct NodeExpectation: Decodable, Sendable, YAMLKeyed, Equatable {
    public var hosts: [UInt32]?
    public var adjacentServers: [UInt32]?
    public var adjacentClients: [UInt32]?
    public var users: [UInt32]?
    public var statusLog: [String]?
    public var chatLog: [String]?

    enum CodingKeys: String, CodingKey {
        case hosts, adjacentServers = "adjacent_servers", adjacentClients = "adjacent_clients", users,
             statusLog = "status_log", chatLog = "chat_log"
    }
    public static let yamlKeys = ["hosts", "adjacent_servers", "adjacent_clients", "users", "status_log", "chat_log"]

    /// No field given: everything derived from the tree.
    public init() {}
}

/// A topology, optionally with the steps and expectations that make it a scenario.
public struct Topology: Decodable, Sendable, YAMLKeyed {
    public var name: String?
    public var description: String?
    public var servers: [ServerSpec] { didSet { reindex() } }
    public var clients: [ClientSpec] { didSet { reindex() } }
    /// Position of each name (the first node with it), so lookups by name cost O(1): a large
    /// topology looks names up for every node.
    private var serverIndex: [String: Int] = [:]
    private var clientIndex: [String: Int] = [:]
    public var steps: [ScenarioStep]
    public var expect: [String: NodeExpectation]
    /// Byte-level expectations: for a server, the first message (hex) received on each inbound server link.
    public var firstMessages: [String: [String]]
    /// Argument templates for every server (client) that has a `command:` and no `args:` of its own.
    public var serverArgs: [String]?
    public var clientArgs: [String]?
    /// Where the file came from (set by the loader).
    public var file: String = "<memory>"

    enum CodingKeys: String, CodingKey {
        case name, description, servers, clients, steps, expect, firstMessages = "first_messages",
             serverArgs = "server_args", clientArgs = "client_args"
    }
    public static let yamlKeys = ["name", "description", "servers", "clients", "steps", "expect", "first_messages", "server_args", "client_args"]

    public init(name: String? = nil, servers: [ServerSpec], clients: [ClientSpec] = [], steps: [Step] = []) {
        self.name = name
        self.servers = servers
        self.clients = clients
        self.steps = steps.map { ScenarioStep($0) }
        self.expect = [:]
        self.firstMessages = [:]
        reindex()
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        servers = try c.decodeEach(ServerSpec.self, forKey: .servers) ?? []
        clients = try c.decodeEach(ClientSpec.self, forKey: .clients) ?? []
        steps = try c.decodeEach(ScenarioStep.self, forKey: .steps) ?? []
        expect = try c.decodeIfPresent([String: NodeExpectation].self, forKey: .expect) ?? [:]
        firstMessages = try c.decodeIfPresent([String: [String]].self, forKey: .firstMessages) ?? [:]
        serverArgs = try c.decodeIfPresent([String].self, forKey: .serverArgs)
        clientArgs = try c.decodeIfPresent([String].self, forKey: .clientArgs)
        reindex()
    }

    /// True when a server runs another implementation (`command:`): this project's servers then
    /// run with `--compat course`.
    public var hasForeignServers: Bool { servers.contains { $0.program != .ours } }
    /// True when any node runs another implementation: crc-cluster then taps every link.
    public var hasForeignNodes: Bool { hasForeignServers || clients.contains { $0.program != .ours } }

    public var displayName: String { name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent }

    /// For `check --attach`: the topology with one observer client of crc-cluster's own on every
    /// server, with fresh ids (from 4,000,000,000 up, clear of the file's) and names `observer-SERVER`.
    public func withObservers() -> Topology {
        var t = self
        var used = Set(servers.map(\.id) + clients.map(\.id))
        var next: UInt32 = 4_000_000_000
        var added: [ClientSpec] = []
        for s in servers where s.refused != true {
            while used.contains(next) { next += 1 }
            used.insert(next)
            var c = ClientSpec(id: next, name: "observer-\(s.name)", info: "crc-cluster observer", server: s.name)
            c.start = s.start
            added.append(c)
        }
        t.clients += added
        return t
    }

    /// Each server's depth in the tree (a root is 0), worked out once for all servers, upstreams
    /// first (linear: a line of 20,000 servers costs 20,000 steps). A server on a loop (which the
    /// loader refuses) or below a missing upstream counts from where its chain breaks.
    public var depths: [String: Int] {
        var depths: [String: Int] = [:]
        for s in servers where depths[s.name] == nil {
            var chain: [String] = []
            var cur: String? = s.name
            var base = -1
            while let c = cur, chain.count <= servers.count {
                if let d = depths[c] { base = d; break }
                guard server(named: c) != nil else { break }
                chain.append(c)
                cur = server(named: c)?.upstream
            }
            for (i, name) in chain.reversed().enumerated() where depths[name] == nil { depths[name] = base + 1 + i }
        }
        return depths
    }

    public func server(named n: String) -> ServerSpec? { serverIndex[n].map { servers[$0] } }
    public func client(named n: String) -> ClientSpec? { clientIndex[n].map { clients[$0] } }
    /// Where a server is in `servers`.
    public func serverPosition(named n: String) -> Int? { serverIndex[n] }

    private mutating func reindex() {
        serverIndex = Dictionary(servers.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        clientIndex = Dictionary(clients.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
    }
}

/// What runs a node: this project's binary, or another program (`command:`). The spec says it;
/// the run's drivers (`ServerDriver`, `ClientDriver`) are chosen from it once.
public enum NodeProgram: Sendable, Equatable {
    case ours
    case other(command: [String])

    /// How people are told ("another implementation"), empty for ours.
    public var note: String { self == .ours ? "" : "another implementation" }
}

extension ServerSpec {
    public var program: NodeProgram { command.map { .other(command: $0) } ?? .ours }
}

extension ClientSpec {
    public var program: NodeProgram { command.map { .other(command: $0) } ?? .ours }
}
