import CRCCore
import CRCProtocol
import CRCTerminal
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers

public struct ClientConfiguration: Sendable {
    public var id: UInt32
    public var username: String
    public var info: String
    public var serverHost: String
    public var serverPort: Int
    public var logFile: String?
    /// One JSON object a line on stdout instead of text for a person.
    public var json: Bool
    /// Set when many clients share one process (`ClientHost`): events carry this name as "client",
    /// joins and leaves are not printed (they stay in the log file and the state), and the end of
    /// the session is an "exited" event rather than the end of the process.
    public var hostedName: String?

    public init(id: UInt32, username: String, info: String, serverHost: String, serverPort: Int,
                logFile: String? = nil, json: Bool = false) {
        self.id = id
        self.username = username
        self.info = info
        self.serverHost = serverHost
        self.serverPort = serverPort
        self.logFile = logFile
        self.json = json
    }
}

/// Process exit statuses of crc-client.
public enum ClientExitCode: Int32, Sendable {
    case ok = 0
    case failure = 1
    case idRefused = 2
    case connectionLost = 3
}

/// A connected client: feeds server messages to `ClientState`, runs commands, prints events.
/// Confined to its event loop.
public final class ClientSession: @unchecked Sendable {
    public let config: ClientConfiguration
    public private(set) var state: ClientState
    let eventLoop: EventLoop
    var channel: Channel?
    private let logFile: UnsafeMutablePointer<FILE>?
    private let done: EventLoopPromise<ClientExitCode>
    private var quitting = false
    private var logDirty = false

    /// Log lines are flushed once per burst of input rather than once per event.
    func flushLog() {
        guard logDirty, let logFile else { return }
        fflush(logFile)
        logDirty = false
    }

    public var finished: EventLoopFuture<ClientExitCode> { done.futureResult }

    public init(config: ClientConfiguration, eventLoop: EventLoop) throws {
        self.config = config
        self.eventLoop = eventLoop
        self.state = ClientState(id: config.id, name: config.username, info: config.info)
        self.done = eventLoop.makePromise()
        if let path = config.logFile {
            guard let f = fopen(path, "a") else {
                throw ClientError("cannot open log file \(path): \(String(cString: strerror(errno)))")
            }
            logFile = f
        } else {
            logFile = nil
        }
    }

    // MARK: From the server

    func connected(_ channel: Channel) {
        self.channel = channel
        send(state.registration)
    }

    func received(_ message: Message) {
        guard let event = state.receive(message) else { return }
        switch event {
        case .welcome(let text):
            emit(["event": "registered", "id": .id(config.id), "name": .string(config.username), "text": .string(text)],
                 human: "*** \(text)")
        case .refused(let text):
            emit(["event": "refused", "id": .id(config.id), "text": .string(text)], human: "!!! \(text)")
            finish(.idRefused)
        case .userJoined(let u):
            emitMembership("user_joined", id: u.id, ("info", u.info), ("name", u.name), human: "--> \(u.name) (\(u.id)) joined")
        case .userLeft(let id, let name, let text):
            emitMembership("user_left", id: id, ("name", name), ("text", text), human: "<-- \(name) (\(id)) left: \(text)")
        case .chat(let from, let name, let text):
            var obj: [String: JSONValue] = ["event": "chat", "from": .id(from), "text": .string(text)]
            if let name { obj["name"] = .string(name) }
            emit(obj, human: "[\(name ?? String(from))] \(text)")
        case .status(let source, let code, let text):
            emit(["event": "status", "source": .id(source), "code": .string(code.description), "text": .string(text)],
                 human: "!!! \(text)")
        }
    }

    func disconnected() {
        channel = nil
        if quitting {
            finish(.ok)
        } else if !state.isRefused {
            emit(["event": "disconnected", "reason": "server closed the connection"],
                 human: "*** disconnected: the server closed the connection")
            finish(.connectionLost)
        }
    }

    // MARK: From the user

    public func handle(line: String) {
        defer { flushLog() }
        switch ClientCommand.parse(line) {
        case .empty:
            break
        case .help:
            if config.json {
                emit(["event": "help", "text": .string(ClientCommand.helpText)], human: "")
            } else {
                writeOut(ClientCommand.helpText)
            }
        case .invalid(let why):
            emit(["event": "error", "message": .string(why)], human: "error: \(why)")
        case .users:
            let users = state.users.values.sorted { $0.id < $1.id }
            if config.json {
                emit(["event": "users", "users": .array(users.map(Self.json))], human: "")
            } else if users.isEmpty {
                writeOut("(no other users)")
            } else {
                writeOut(users.map { "  \($0.id)\t\($0.name)\t\($0.info)" }.joined(separator: "\n"))
            }
        case .state:
            emitState()
        case .digest:
            emit(["event": "digest", "users": .int(state.users.count), "users_digest": .string(usersDigest(state.users.keys)),
                  "chat_log": .array(state.chatLog.map { ["from": .id($0.from), "text": .string($0.text)] }),
                  "status_log": .array(state.statusLog.map { .string($0) })], human: "")
        case .message(let to, let text):
            let destination: UInt32
            if let n = UInt32(to) {
                destination = n
            } else if let user = state.user(named: to) {
                destination = user.id
            } else {
                emit(["event": "error", "message": .string("no known user named '\(to)'; /users lists them")],
                     human: "error: no known user named '\(to)'; /users lists them")
                return
            }
            send(state.chat(to: destination, text: text))
        case .quit(let text):
            quit(text: text)
        }
    }

    public func quit(text: String) {
        guard !quitting else { return }
        quitting = true
        guard let channel else { finish(.ok); return }
        var buffer = channel.allocator.buffer(capacity: 64)
        buffer.writeCRCMessage(state.quit(text: text))
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }

    func emitState() {
        if config.json, config.logFile == nil || config.hostedName != nil {
            // Built by hand: with thousands of users a state is large, and it is asked for often.
            var out = "{\"chat_log\":["
            for (i, e) in state.chatLog.enumerated() {
                if i > 0 { out += "," }
                out += "{\"from\":\(e.from),\"text\":"
                JSONValue.quote(e.text, into: &out)
                out += "}"
            }
            out += "]"
            if let hosted = config.hostedName {
                out += ",\"client\":"
                JSONValue.quote(hosted, into: &out)
            }
            out += ",\"event\":\"state\",\"id\":\(config.id),\"name\":"
            JSONValue.quote(config.username, into: &out)
            out += ",\"registered\":\(state.isRegistered),\"status_log\":["
            for (i, t) in state.statusLog.enumerated() {
                if i > 0 { out += "," }
                JSONValue.quote(t, into: &out)
            }
            out += "],\"users\":["
            for (i, u) in state.users.values.sorted(by: { $0.id < $1.id }).enumerated() {
                if i > 0 { out += "," }
                out += "{\"id\":\(u.id),\"info\":"
                JSONValue.quote(u.info, into: &out)
                out += ",\"name\":"
                JSONValue.quote(u.name, into: &out)
                out += "}"
            }
            out += "]}"
            writeOut(out)
            return
        }
        let obj: [String: JSONValue] = [
            "event": "state", "id": .id(config.id), "name": .string(config.username), "registered": .bool(state.isRegistered),
            "users": .array(state.users.values.sorted { $0.id < $1.id }.map(Self.json)),
            "chat_log": .array(state.chatLog.map { ["from": .id($0.from), "text": .string($0.text)] }),
            "status_log": .array(state.statusLog.map { .string($0) }),
        ]
        if config.json {
            emit(obj, human: "")
        } else {
            writeOut(Self.encode(obj))
        }
    }

    // MARK: Plumbing

    private func send(_ message: Message) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: message.wireSize)
        buffer.writeCRCMessage(message)
        channel.writeAndFlush(buffer, promise: nil)
    }

    private var finishedAlready = false

    func finish(_ code: ClientExitCode) {
        guard !finishedAlready else { return }
        finishedAlready = true
        flushLog()
        if let hosted = config.hostedName {
            writeOut(Self.encode(["event": "exited", "client": .string(hosted), "code": .int(Int(code.rawValue))]))
        }
        done.succeed(code)
        channel?.close(promise: nil)
    }

    static func json(_ u: KnownUser) -> JSONValue {
        ["id": .id(u.id), "name": .string(u.name), "info": .string(u.info)]
    }

    /// Joins and leaves: N² of them in a network of N clients, so they are written without
    /// building a JSON object (the same text `emit` would give: keys in order), and not at all on
    /// a hosted client's stdout (crc-cluster asks for digests instead).
    private func emitMembership(_ event: String, id: UInt32, _ a: (key: String, value: String), _ b: (key: String, value: String),
                                human: @autoclosure () -> String) {
        func line(stamp: Bool) -> String {
            var out = "{\"event\":\"\(event)\",\"id\":\(id),\"\(a.key)\":"
            JSONValue.quote(a.value, into: &out)
            out += ",\"\(b.key)\":"
            JSONValue.quote(b.value, into: &out)
            if stamp { out += ",\"ts\":\"" + Self.now() + "\"" }
            return out + "}"
        }
        if config.hostedName == nil {
            writeOut(config.json ? line(stamp: false) : human())
        }
        if let logFile {
            fputs(line(stamp: true) + "\n", logFile)
            logDirty = true
        }
    }

    private func emit(_ object: [String: JSONValue], human: @autoclosure () -> String) {
        if let hosted = config.hostedName {
            var tagged = object
            tagged["client"] = .string(hosted)
            writeOut(Self.encode(tagged))
        } else if config.json {
            writeOut(Self.encode(object))
        } else {
            let text = human()
            if !text.isEmpty { writeOut(text) }
        }
        if let logFile {
            var stamped = object
            stamped["ts"] = .string(Self.now())
            fputs(Self.encode(stamped) + "\n", logFile)
            logDirty = true
        }
    }

    static func encode(_ object: [String: JSONValue]) -> String { JSONValue.object(object).text }

    static func now() -> String { LogClock.shared.now() }
}

public struct ClientError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = Message
    let session: ClientSession
    init(session: ClientSession) { self.session = session }

    func channelActive(context: ChannelHandlerContext) {
        session.connected(context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        session.received(Self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        session.flushLog()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.disconnected()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        writeErr("crc-client: closing the connection: \(error)")
        context.close(promise: nil)
    }
}

public enum ClientApp {
    /// Connects, registers, then runs commands from stdin until the user quits or the server goes.
    public static func run(_ config: ClientConfiguration) -> ClientExitCode {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let session: ClientSession
        do {
            session = try ClientSession(config: config, eventLoop: loop)
        } catch {
            writeErr("crc-client: \(error)")
            return .failure
        }
        let address = serverAddress(config.serverHost)
        do {
            _ = try connect(session, group: group, timeout: .seconds(5)).wait()
        } catch {
            try? loop.submit { session.finish(.failure) }.wait()
            writeErr("crc-client: cannot reach server \(config.serverHost) at \(address):\(config.serverPort): \(describe(error))")
            return .failure
        }

        // Commands from stdin; end of input quits.
        DispatchQueue(label: "crc-client.stdin").async {
            while let line = readLine(strippingNewline: true) {
                loop.execute { session.handle(line: line) }
            }
            loop.execute { session.quit(text: "") }
        }
        // Ctrl-C / SIGTERM: leave politely.
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { loop.execute { session.quit(text: "interrupted") } }
            s.resume()
            sources.append(s)
        }
        let code = (try? session.finished.wait()) ?? .failure
        sources.forEach { $0.cancel() }
        return code
    }

    /// The seed names servers by name and means this machine; addresses and dotted names are real.
    static func serverAddress(_ host: String) -> String {
        host == "localhost" || !(host.contains(".") || host.contains(":")) ? "127.0.0.1" : host
    }

    /// Opens `session`'s connection to its server; the session registers once it is up.
    static func connect(_ session: ClientSession, group: EventLoopGroup, timeout: TimeAmount) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MessageDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ClientHandler(session: session))
                }
            }
            .connect(host: serverAddress(session.config.serverHost), port: session.config.serverPort)
    }

    static func describe(_ error: Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first { return describe(first.error) }
        return "\(error)"
    }
}
