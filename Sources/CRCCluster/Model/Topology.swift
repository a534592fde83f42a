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
    /// Another implementation's command (executable and leading arguments); crc-server's options follow.
    public var command: [String]?
    /// This server reuses an id on purpose and must be refused (the duplicate-id scenarios).
    public var refused: Bool?
    /// false: not started with the network; a `start` step starts it.
    public var start: Bool?

    public static let yamlKeys = ["id", "name", "info", "upstream", "port", "command", "refused", "start"]

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
    public var command: [String]?
    public var refused: Bool?
    public var start: Bool?

    public static let yamlKeys = ["id", "name", "info", "server", "command", "refused", "start"]

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
    case chat(from: String, to: String, text: String)
    case quit(client: String, text: String)
    case settle

    public var summary: String {
        switch self {
        case .start(let n): return "start \(n)"
        case .stop(let n): return "stop \(n)"
        case .kill(let n): return "kill \(n)"
        case .chat(let f, let t, let text): return "chat \(f) → \(t): \(text)"
        case .quit(let c, let text): return "quit \(c): \(text)"
        case .settle: return "settle"
        }
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

struct StepSpec: Decodable, YAMLKeyed {
    var start: String?
    var stop: String?
    var kill: String?
    var chat: ChatStepSpec?
    var quit: QuitStepSpec?
    static let yamlKeys = ["start", "stop", "kill", "chat", "quit", "settle"]
}

extension Step: Decodable {
    public init(from decoder: Decoder) throws {
        if let s = try? decoder.singleValueContainer().decode(String.self), s == "settle" {
            self = .settle
            return
        }
        let spec = try decoder.singleValueContainer().decode(StepSpec.self)
        let given = [spec.start.map { Step.start($0) }, spec.stop.map { .stop($0) }, spec.kill.map { .kill($0) },
                     spec.chat.map { .chat(from: $0.from, to: $0.to, text: $0.text) },
                     spec.quit.map { .quit(client: $0.client, text: $0.text ?? "") }].compactMap { $0 }
        guard given.count == 1 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "a step is one of: settle, start: NODE, stop: NODE, kill: NODE, chat: {from, to, text}, quit: {client, text}"))
        }
        self = given[0]
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
}

/// A topology, optionally with the steps and expectations that make it a scenario.
public struct Topology: Decodable, Sendable, YAMLKeyed {
    public var name: String?
    public var description: String?
    public var servers: [ServerSpec]
    public var clients: [ClientSpec]
    public var steps: [Step]
    public var expect: [String: NodeExpectation]
    /// Byte-level expectations: for a server, the first message (hex) received on each inbound server link.
    public var firstMessages: [String: [String]]
    /// Where the file came from (set by the loader).
    public var file: String = "<memory>"

    enum CodingKeys: String, CodingKey {
        case name, description, servers, clients, steps, expect, firstMessages = "first_messages"
    }
    public static let yamlKeys = ["name", "description", "servers", "clients", "steps", "expect", "first_messages"]

    public init(name: String? = nil, servers: [ServerSpec], clients: [ClientSpec] = [], steps: [Step] = []) {
        self.name = name
        self.servers = servers
        self.clients = clients
        self.steps = steps
        self.expect = [:]
        self.firstMessages = [:]
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        servers = try c.decodeIfPresent([ServerSpec].self, forKey: .servers) ?? []
        clients = try c.decodeIfPresent([ClientSpec].self, forKey: .clients) ?? []
        steps = try c.decodeIfPresent([Step].self, forKey: .steps) ?? []
        expect = try c.decodeIfPresent([String: NodeExpectation].self, forKey: .expect) ?? [:]
        firstMessages = try c.decodeIfPresent([String: [String]].self, forKey: .firstMessages) ?? [:]
    }

    public var displayName: String { name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent }

    public func server(named n: String) -> ServerSpec? { servers.first { $0.name == n } }
    public func client(named n: String) -> ClientSpec? { clients.first { $0.name == n } }
}
