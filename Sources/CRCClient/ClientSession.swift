import CRCCore
import CRCProtocol
import CRCLineEditor
import CRCTerminal
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import CRCContract

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
    /// Without a welcome or a refusal within this time, the server is not answering as a CRC
    /// server does: the client says so and exits (`ClientExitCode.noAnswer`).
    public var registerTimeout: TimeAmount = .seconds(10)
    /// How long a message to a name nobody has announced yet waits for that name to join.
    public var unknownNameWait: TimeAmount = .seconds(2)
    /// Largest chat or quit text sent; longer ones are refused here rather than sent to get the
    /// connection closed by the server.
    public var maxTextBytes = Limits.defaultMaxTextLength
    /// A person at a terminal: lines are read with editing and history, behind a prompt, and
    /// events are printed above it.
    public var interactive = false

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
    /// Connected, but the server never answered the registration (not a CRC server?).
    case noAnswer = 4
}

/// A connected client: feeds server messages to `ClientState`, runs commands, prints events.
/// Confined to its event loop.
public final class ClientSession: @unchecked Sendable {  // confined to `eventLoop`
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
        let timeout = config.registerTimeout
        eventLoop.scheduleTask(in: timeout) { [self] in
            guard !state.isRegistered, !state.isRefused, !finishedAlready else { return }
            let seconds = timeout.nanoseconds / 1_000_000_000
            emit(.error, ["message": .string("no answer to the registration within \(seconds) s: is \(config.serverHost):\(config.serverPort) a CRC server?")],
                 human: "error: no answer to the registration within \(seconds) s: is \(config.serverHost):\(config.serverPort) a CRC server?")
            finish(.noAnswer)
        }
    }

    func received(_ message: Message) {
        guard let event = state.receive(message) else { return }
        switch event {
        case .welcome(let text):
            emit(.registered, ["id": .id(config.id), "name": .string(config.username), "text": .string(text)],
                 human: "*** \(text)")
            drainQueue()
        case .refused(let text):
            emit(.refused, ["id": .id(config.id), "text": .string(text)], human: "!!! \(text)")
            queued.removeAll()
            finish(.idRefused)
        case .userJoined(let u):
            emitMembership(.userJoined, id: u.id, ("info", u.info), ("name", u.name), human: "--> \(u.name) (\(u.id)) joined")
            if headDeadline != nil { drainQueue() }
        case .userLeft(let id, let name, let text):
            emitMembership(.userLeft, id: id, ("name", name), ("text", text), human: "<-- \(name) (\(id)) left: \(text)")
        case .chat(let from, let name, let text):
            var obj: [String: JSONValue] = ["from": .id(from), "text": .string(text)]
            if let name { obj["name"] = .string(name) }
            emit(.chat, obj, human: "[\(name ?? String(from))] \(text)")
        case .status(let source, let code, let text):
            emit(.status, ["source": .id(source), "code": .string(code.description), "text": .string(text)],
                 human: "!!! \(text)")
        }
    }

    func disconnected() {
        channel = nil
        if quitting {
            finish(.ok)
        } else if !state.isRefused {
            emit(.disconnected, ["reason": "server closed the connection"],
                 human: "*** disconnected: the server closed the connection")
            finish(.connectionLost)
        }
    }

    // MARK: From the user

    /// Commands wait here, in order, until they can run: until the client is registered, and a
    /// message to a name not known yet until that name joins (or `unknownNameWait` passes).
    private var queued: [ClientCommand] = []
    private var headDeadline: NIODeadline?
    private var headTimer: Scheduled<Void>?

    /// A line typed by the user or written by a program: run now if nothing waits, else queued.
    public func handle(line: String) {
        enqueue(ClientCommand.parse(line))
    }

    /// End of input: leave once everything typed before it has run.
    public func endOfInput() {
        enqueue(.quit(text: ""))
    }

    private func enqueue(_ command: ClientCommand) {
        if case .empty = command { return }
        queued.append(command)
        drainQueue()
    }

    /// Runs queued commands from the head while they can run.
    func drainQueue() {
        defer { flushLog() }
        while let head = queued.first {
            guard state.isRegistered || head.runsBeforeRegistration || state.isRefused || quitting else { return }
            if case .message(let to, _) = head, UInt32(to) == nil, state.users(named: to).isEmpty, state.isRegistered {
                // Not known yet: it may be about to join (a script that starts right after its peer).
                let now = NIODeadline.now()
                if headDeadline == nil {
                    headDeadline = now + config.unknownNameWait
                    headTimer = eventLoop.scheduleTask(deadline: headDeadline!) { [self] in drainQueue() }
                }
                if now < headDeadline! { return }
            }
            queued.removeFirst()
            headDeadline = nil
            headTimer?.cancel()
            headTimer = nil
            run(head)
        }
    }

    private func run(_ command: ClientCommand) {
        switch command {
        case .empty:
            break
        case .help:
            if config.json {
                emit(.help, ["text": .string(ClientCommand.helpText)], human: "")
            } else {
                out(ClientCommand.helpText)
            }
        case .invalid(let why):
            emit(.error, ["message": .string(why)], human: "error: \(why)")
        case .users:
            let users = state.users.values.sorted { $0.id < $1.id }
            if config.json {
                emit(.users, ["users": .array(users.map(Self.json))], human: "")
            } else if users.isEmpty {
                out("(no other users)")
            } else {
                out(users.map { "  \($0.id)\t\($0.name)\t\($0.info)" }.joined(separator: "\n"))
            }
        case .state:
            emitState()
        case .digest:
            emit(.digest, ["users": .int(state.users.count), "users_digest": .string(usersDigest(state.users.keys)),
                  "chat_log": .array(state.chatLog.map { ["from": .id($0.from), "text": .string($0.text)] }),
                  "status_log": .array(state.statusLog.map { .string($0) })], human: "", log: false)
        case .message(let to, let text):
            guard text.utf8.count <= config.maxTextBytes else {
                error("message not sent: it is \(text.utf8.count) bytes, and the limit is \(config.maxTextBytes)")
                return
            }
            let destination: UInt32
            if let n = UInt32(to) {
                destination = n
            } else {
                let matches = state.users(named: to)
                if matches.count == 1 {
                    destination = matches[0].id
                } else if matches.isEmpty {
                    error("no known user named '\(ClientCommand.shown(Substring(to)))' (waited \(config.unknownNameWait.nanoseconds / 1_000_000_000) s for one to join); /users lists them")
                    return
                } else {
                    let list = matches.map { "\($0.id) (\($0.info.isEmpty ? "no info" : $0.info))" }.joined(separator: ", ")
                    error("'\(to)' is the name of \(matches.count) users: \(list); send to one by id")
                    return
                }
            }
            send(state.chat(to: destination, text: text))
            if !config.json, config.hostedName == nil {
                let name = state.users[destination]?.name ?? String(destination)
                out("-> [\(name)] \(text)")
            }
        case .quit(let text):
            guard text.utf8.count <= config.maxTextBytes else {
                error("quit text is \(text.utf8.count) bytes, and the limit is \(config.maxTextBytes)")
                return
            }
            quit(text: text)
        }
    }

    private func error(_ message: String) {
        emit(.error, ["message": .string(message)], human: "error: \(message)")
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
            // A hosted client's name comes first, where crc-cluster looks for it.
            var out = "{"
            if let hosted = config.hostedName {
                out += "\"client\":"
                JSONValue.quote(hosted, into: &out)
                out += ","
            }
            out += "\"chat_log\":["
            for (i, e) in state.chatLog.enumerated() {
                if i > 0 { out += "," }
                out += "{\"from\":\(e.from),\"text\":"
                JSONValue.quote(e.text, into: &out)
                out += "}"
            }
            out += "]"
            out += ",\"event\":\"\(NodeEvent.Kind.state.rawValue)\",\"id\":\(config.id),\"name\":"
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
            self.out(out)
            return
        }
        let obj: [String: JSONValue] = [
            "id": .id(config.id), "name": .string(config.username), "registered": .bool(state.isRegistered),
            "users": .array(state.users.values.sorted { $0.id < $1.id }.map(Self.json)),
            "chat_log": .array(state.chatLog.map { ["from": .id($0.from), "text": .string($0.text)] }),
            "status_log": .array(state.statusLog.map { .string($0) }),
        ]
        if config.json {
            emit(.state, obj, human: "", log: false)
        } else {
            out(NodeEvent(.state, obj).text)
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
            var line = "{\"client\":"
            JSONValue.quote(hosted, into: &line)
            out(line + ",\"code\":\(code.rawValue),\"event\":\"\(NodeEvent.Kind.exited.rawValue)\"}")
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
    private func emitMembership(_ event: NodeEvent.Kind, id: UInt32, _ a: (key: String, value: String), _ b: (key: String, value: String),
                                human: @autoclosure () -> String) {
        func line(stamp: Bool) -> String {
            var out = "{\"event\":\"\(event.rawValue)\",\"id\":\(id),\"\(a.key)\":"
            JSONValue.quote(a.value, into: &out)
            out += ",\"\(b.key)\":"
            JSONValue.quote(b.value, into: &out)
            if stamp { out += ",\"ts\":\"" + Self.now() + "\"" }
            return out + "}"
        }
        if config.hostedName == nil {
            out(config.json ? line(stamp: false) : human())
        }
        if let logFile {
            fputs(line(stamp: true) + "\n", logFile)
            logDirty = true
        }
    }

    /// `log: false` for answers to crc-cluster's polling (digest, state): they are not the client's story.
    private func emit(_ kind: NodeEvent.Kind, _ fields: [String: JSONValue], human: @autoclosure () -> String, log: Bool = true) {
        if let hosted = config.hostedName {
            // The hosted client's name first, then the event's fields: crc-cluster routes a line
            // to its client by the name at the start, however long the line (a digest carries
            // the whole chat log).
            var line = "{\"client\":"
            JSONValue.quote(hosted, into: &line)
            let rest = NodeEvent(kind, fields).text
            line += "," + rest.dropFirst()
            out(line)
        } else if config.json {
            out(NodeEvent(kind, fields).text)
        } else {
            let text = human()
            if !text.isEmpty { out(text) }
        }
        if log, let logFile {
            var stamped = fields
            stamped["ts"] = .string(Self.now())
            fputs(NodeEvent(kind, stamped).text + "\n", logFile)
            logDirty = true
        }
    }

    /// One line to stdout: above the prompt for a person at a terminal.
    private func out(_ line: String) {
        if config.interactive { LineEditor.shared.printAbove(line) } else { writeOut(line) }
    }

    static func now() -> String { LogClock.shared.now() }
}

extension ClientCommand {
    /// Commands that make sense before the server has welcomed the client.
    var runsBeforeRegistration: Bool {
        switch self {
        case .help, .invalid, .empty, .users, .state, .digest: return true
        case .message, .quit: return false
        }
    }
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
