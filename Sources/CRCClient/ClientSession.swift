import CRCCore
import CRCProtocol
import Foundation
import NIOCore
import NIOPosix

public struct ClientConfiguration: Sendable {
    public var id: UInt32
    public var username: String
    public var info: String
    public var serverHost: String
    public var serverPort: Int
    public var logFile: String?
    /// One JSON object a line on stdout instead of text for a person.
    public var json: Bool

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

    public var finished: EventLoopFuture<ClientExitCode> { done.futureResult }

    init(config: ClientConfiguration, eventLoop: EventLoop) throws {
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
            emit(["event": "registered", "id": Int(config.id), "name": config.username, "text": text],
                 human: "*** \(text)")
        case .refused(let text):
            emit(["event": "refused", "id": Int(config.id), "text": text], human: "!!! \(text)")
            finish(.idRefused)
        case .userJoined(let u):
            emit(["event": "user_joined", "id": Int(u.id), "name": u.name, "info": u.info],
                 human: "--> \(u.name) (\(u.id)) joined")
        case .userLeft(let id, let name, let text):
            emit(["event": "user_left", "id": Int(id), "name": name, "text": text],
                 human: "<-- \(name) (\(id)) left: \(text)")
        case .chat(let from, let name, let text):
            var obj: [String: Any] = ["event": "chat", "from": Int(from), "text": text]
            if let name { obj["name"] = name }
            emit(obj, human: "[\(name ?? String(from))] \(text)")
        case .status(let source, let code, let text):
            emit(["event": "status", "source": Int(source), "code": code.description, "text": text],
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
        switch ClientCommand.parse(line) {
        case .empty:
            break
        case .help:
            if config.json {
                emit(["event": "help", "text": ClientCommand.helpText], human: "")
            } else {
                writeOut(ClientCommand.helpText)
            }
        case .invalid(let why):
            emit(["event": "error", "message": why], human: "error: \(why)")
        case .users:
            let users = state.users.values.sorted { $0.id < $1.id }
            if config.json {
                emit(["event": "users", "users": users.map { ["id": Int($0.id), "name": $0.name, "info": $0.info] }], human: "")
            } else if users.isEmpty {
                writeOut("(no other users)")
            } else {
                writeOut(users.map { "  \($0.id)\t\($0.name)\t\($0.info)" }.joined(separator: "\n"))
            }
        case .state:
            emitState()
        case .message(let to, let text):
            let destination: UInt32
            if let n = UInt32(to) {
                destination = n
            } else if let user = state.user(named: to) {
                destination = user.id
            } else {
                emit(["event": "error", "message": "no known user named '\(to)'; /users lists them"],
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
        let obj: [String: Any] = [
            "event": "state", "id": Int(config.id), "name": config.username, "registered": state.isRegistered,
            "users": state.users.values.sorted { $0.id < $1.id }.map { ["id": Int($0.id), "name": $0.name, "info": $0.info] },
            "chat_log": state.chatLog.map { ["from": Int($0.from), "text": $0.text] },
            "status_log": state.statusLog,
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
        done.succeed(code)
        channel?.close(promise: nil)
    }

    private func emit(_ object: [String: Any], human: String) {
        let line = Self.encode(object)
        if config.json {
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        } else if !human.isEmpty {
            FileHandle.standardOutput.write(Data((human + "\n").utf8))
        }
        if let logFile {
            var stamped = object
            stamped["ts"] = Date().timeIntervalSince1970
            fputs(Self.encode(stamped) + "\n", logFile)
            fflush(logFile)
        }
    }

    static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}

func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
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

    func channelInactive(context: ChannelHandlerContext) {
        session.disconnected()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        FileHandle.standardError.write(Data("crc-client: closing the connection: \(error)\n".utf8))
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
            FileHandle.standardError.write(Data("crc-client: \(error)\n".utf8))
            return .failure
        }
        let address = config.serverHost == "localhost" || !(config.serverHost.contains(".") || config.serverHost.contains(":"))
            ? "127.0.0.1" : config.serverHost
        do {
            _ = try ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MessageDecoder()))
                        try channel.pipeline.syncOperations.addHandler(ClientHandler(session: session))
                    }
                }
                .connect(host: address, port: config.serverPort).wait()
        } catch {
            try? loop.submit { session.finish(.failure) }.wait()
            FileHandle.standardError.write(Data("crc-client: cannot reach server \(config.serverHost) at \(address):\(config.serverPort): \(describe(error))\n".utf8))
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

    static func describe(_ error: Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first { return describe(first.error) }
        return "\(error)"
    }
}
