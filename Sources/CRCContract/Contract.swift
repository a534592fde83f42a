/// What the executables print for launchers and crc-cluster to read: one typed contract, shared
/// by the server and the client (which write it) and crc-cluster and the tests (which read it).
/// Each is one JSON object on a line of stdout; keys are snake_case.

/// The line a server prints once it is listening (and, with an upstream, accepted by it).
public struct ReadyLine: Codable, Sendable, Equatable {
    public var event = NodeEvent.Kind.ready
    public var id: UInt32
    public var name: String
    public var host: String
    public var port: Int
    public var monitorPort: Int?
    public var pid: Int32

    enum CodingKeys: String, CodingKey { case event, id, name, host, port, monitorPort = "monitor_port", pid }

    public init(id: UInt32, name: String, host: String, port: Int, monitorPort: Int?, pid: Int32) {
        self.id = id
        self.name = name
        self.host = host
        self.port = port
        self.monitorPort = monitorPort
        self.pid = pid
    }

    /// The line itself (keys in a fixed order; no Foundation needed).
    public var text: String {
        var fields: [String: JSONValue] = ["event": .string(event.rawValue), "id": .id(id), "name": .string(name), "host": .string(host),
                                           "port": .int(port), "pid": .int(Int(pid))]
        if let monitorPort { fields["monitor_port"] = .int(monitorPort) }
        return JSONValue.object(fields).text
    }
}

/// A chat in a client's log, as its digest and state report it.
public struct ChatLine: Codable, Sendable, Equatable {
    public var from: UInt32
    public var text: String
    public init(from: UInt32, text: String) {
        self.from = from
        self.text = text
    }
}

/// A user a client knows.
public struct UserLine: Codable, Sendable, Equatable {
    public var id: UInt32
    public var name: String?
    public var info: String?
    public init(id: UInt32, name: String?, info: String?) {
        self.id = id
        self.name = name
        self.info = info
    }
}

/// A client's answer to `digest`: its users as a count and a digest, and its logs.
public struct ClientDigest: Codable, Sendable, Equatable {
    public var event: NodeEvent.Kind
    /// Set for a client hosted with others in one process.
    public var client: String?
    public var users: Int
    public var usersDigest: String
    public var chatLog: [ChatLine]
    public var statusLog: [String]

    enum CodingKeys: String, CodingKey { case event, client, users, usersDigest = "users_digest", chatLog = "chat_log", statusLog = "status_log" }
}

/// A client's answer to `state`: everything it holds.
public struct ClientStateReport: Codable, Sendable, Equatable {
    public var event: NodeEvent.Kind
    public var client: String?
    public var id: UInt32?
    public var name: String?
    public var registered: Bool?
    public var users: [UserLine]
    public var chatLog: [ChatLine]
    public var statusLog: [String]

    enum CodingKeys: String, CodingKey { case event, client, id, name, registered, users, chatLog = "chat_log", statusLog = "status_log" }
}

/// The line crc-cluster's class host prints before it starts a course-style server object: where
/// to ask for the object's graded attributes (one request line, one JSON line back).
public struct ClassHostLine: Codable, Sendable, Equatable {
    public var event = NodeEvent.Kind.classState
    public var statePort: Int
    public var pid: Int32
    public init(statePort: Int, pid: Int32) {
        self.statePort = statePort
        self.pid = pid
    }
    enum CodingKeys: String, CodingKey { case event, statePort = "state_port", pid }
}

/// One client of a process that hosts many (`crc-cluster crc-client-host --spec FILE`, a JSON array
/// of these): what crc-cluster writes and the host reads.
public struct HostedClientSpec: Codable, Sendable, Equatable {
    public var id: UInt32
    public var name: String
    public var info: String
    public var serverHost: String
    public var serverPort: Int
    public var logFile: String?

    enum CodingKeys: String, CodingKey { case id, name, info, serverHost = "server_host", serverPort = "server_port", logFile = "log_file" }

    public init(id: UInt32, name: String, info: String, serverHost: String, serverPort: Int, logFile: String?) {
        self.id = id
        self.name = name
        self.info = info
        self.serverHost = serverHost
        self.serverPort = serverPort
        self.logFile = logFile
    }
}
