import CRCCluster
import CRCContract
import CRCProcess
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// The live view's web server: SwiftNIO's HTTP/1 and WebSocket handlers, one event loop.
///
///   GET /                         the page (everything inline: it works offline)
///   GET /api/runs                 the runs under the logs folder, newest first, with verdicts
///   GET /api/runs/ID/run.json     a run's record, and /api/runs/ID/wire.jsonl its messages
///   GET /stream[?token=T]         WebSocket: the running network's events (`LiveSession`), and
///                                 commands from the page, taken only from presenters
public final class LiveServer: Sendable {
    public struct Options: Sendable {
        /// The address to listen on; loopback unless the room is to see it.
        public var bind: String
        public var port: Int
        /// The folder of runs (`logs/`), for the list and for replays.
        public var logsRoot: URL
        /// Who may drive the network: every viewer on loopback, else only those with `token`.
        public var token: String

        public init(bind: String = "127.0.0.1", port: Int = 0, logsRoot: URL, token: String = LiveServer.makeToken()) {
            self.bind = bind
            self.port = port
            self.logsRoot = logsRoot
            self.token = token
        }

        /// Whether a viewer without the token may send commands: only when nobody else can reach the page.
        public var everyoneDrives: Bool { bind == "127.0.0.1" || bind == "localhost" || bind == "::1" }
    }

    public let options: Options
    public let session: LiveSession?
    private let group: MultiThreadedEventLoopGroup
    private let channel = NIOLockedValueBox<Channel?>(nil)

    /// `session` nil: only past runs (`crc-cluster serve`).
    public init(options: Options, session: LiveSession?) {
        self.options = options
        self.session = session
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    public static func makeToken() -> String {
        (0..<4).map { _ in String(format: "%04x", UInt16.random(in: 0 ... .max)) }.joined()
    }

    /// Starts listening; returns the port.
    @discardableResult
    public func start() throws -> Int {
        let server = self
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 16,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(head.uri.hasPrefix("/stream") ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, head in
                let presenter = server.options.everyoneDrives || Self.query(head.uri)["token"] == server.options.token
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamHandler(server: server, presenter: presenter))
                }
            })
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let config: NIOHTTPServerUpgradeConfiguration = (
                        upgraders: [upgrader],
                        completionHandler: { context in context.pipeline.removeHandler(name: "page", promise: nil) })
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withServerUpgrade: config)
                    try channel.pipeline.syncOperations.addHandler(PageHandler(server: server), name: "page")
                }
            }
        let ch: Channel
        do { ch = try bootstrap.bind(host: options.bind, port: options.port).wait() } catch {
            throw ClusterError("the live view cannot listen on \(options.bind):\(options.port): \(error) (choose another with --web PORT)")
        }
        channel.withLockedValue { $0 = ch }
        return ch.localAddress?.port ?? options.port
    }

    public func close() {
        let ch = channel.withLockedValue { c in defer { c = nil }; return c }
        try? ch?.close().wait()
        try? group.syncShutdownGracefully()
    }

    static func query(_ uri: String) -> [String: String] {
        guard let q = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var out: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if kv.count == 2 { out[kv[0]] = kv[1] }
        }
        return out
    }

    /// An answer to a GET: status, content type, body.
    struct Answer {
        var status: HTTPResponseStatus
        var type: String
        var body: Data

        static func json(_ data: Data) -> Answer { Answer(status: .ok, type: "application/json", body: data) }
        static func notFound(_ why: String) -> Answer {
            Answer(status: .notFound, type: "application/json", body: Data(JSONValue.object(["error": .string(why)]).text.utf8))
        }
    }

    func answer(_ uri: String) -> Answer {
        let path = uri.split(separator: "?").first.map(String.init) ?? uri
        if path == "/" || path == "/index.html" {
            return Answer(status: .ok, type: "text/html; charset=utf-8", body: Data(LivePage.html.utf8))
        }
        if path == "/api/runs" {
            return .json(RunArchive(root: options.logsRoot).listJSON())
        }
        let parts = path.split(separator: "/").map(String.init)
        if parts.count == 4, parts[0] == "api", parts[1] == "runs" {  // which names may be read is RunArchive's to say
            guard let data = RunArchive(root: options.logsRoot).file(run: parts[2], name: parts[3]) else {
                return .notFound("no run '\(parts[2])' with \(parts[3]) under \(options.logsRoot.path)")
            }
            return Answer(status: .ok, type: parts[3].hasSuffix(".json") ? "application/json" : "application/x-ndjson", body: data)
        }
        return .notFound("no such page: \(path) (/, /api/runs, /api/runs/ID/run.json, /api/runs/ID/wire.jsonl, /stream)")
    }
}

/// GET requests: the page and the runs' files.
final class PageHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: LiveServer
    private var head: HTTPRequestHead?

    init(server: LiveServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            let answer = head.method == .GET ? server.answer(head.uri)
                : LiveServer.Answer(status: .methodNotAllowed, type: "text/plain", body: Data("GET only\n".utf8))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: answer.type)
            headers.add(name: "Content-Length", value: "\(answer.body.count)")
            headers.add(name: "Cache-Control", value: "no-store")
            headers.add(name: "Connection", value: head.isKeepAlive ? "keep-alive" : "close")
            context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: answer.body.count)
            buffer.writeBytes(answer.body)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
            self.head = nil
        }
    }
}

/// One page's WebSocket: events out (from the session), commands in.
final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let server: LiveServer
    let presenter: Bool
    private var text = ByteBuffer()

    init(server: LiveServer, presenter: Bool) {
        self.server = server
        self.presenter = presenter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let viewer = Viewer(channel: context.channel, presenter: presenter)
        if let session = server.session {
            session.join(viewer)
        } else {
            viewer.send(JSONValue.object(["k": .string("hello"), "mode": .string("archive")]).text)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .continuation:
            var data = frame.unmaskedData
            text.writeBuffer(&data)
            guard frame.fin else { return }
            let message = text.readString(length: text.readableBytes) ?? ""
            text.clear()
            server.session?.received(message, from: Viewer(channel: context.channel, presenter: presenter))
        case .connectionClose:
            var data = context.channel.allocator.buffer(capacity: 2)
            data.write(webSocketErrorCode: .normalClosure)
            context.writeAndFlush(Self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))).whenComplete { _ in
                context.close(promise: nil)
            }
        case .ping:
            let frame = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        default: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.session?.leave(ObjectIdentifier(context.channel))
        context.fireChannelInactive()
    }
}

/// A page watching: its WebSocket, and whether it may drive the network.
public struct Viewer: Sendable {
    let channel: Channel
    public let presenter: Bool

    var id: ObjectIdentifier { ObjectIdentifier(channel) }

    /// Whether its socket takes more now; a page that cannot keep up gets summaries, not a backlog.
    var keepsUp: Bool { channel.isWritable }

    func send(_ text: String) {
        let channel = self.channel
        channel.eventLoop.execute {
            var buffer = channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: buffer), promise: nil)
        }
    }
}
