import CRCCore
import FoundationEssentials
import NIOCore
import NIOHTTP1
import CRCContract

/// The monitoring endpoint, in the manner of nats-server's: plain HTTP, JSON answers.
///   GET /state    the server's whole state (`ServerSnapshot`)
///   GET /digest   counts and fingerprints of it (`ServerDigest`), for programs polling many servers
///   GET /healthz  {"status":"ok"}
final class MonitorHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let runtime: ServerRuntime
    private var uri = "/"
    private var keepAlive = true

    init(runtime: ServerRuntime) {
        self.runtime = runtime
    }

    /// Connections open at once; more are closed when accepted.
    static let maxConnections = 64
    /// A connection with no request for this long is closed.
    static let idleTimeout = TimeAmount.seconds(30)

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            uri = head.uri
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let path = uri.split(separator: "?").first.map(String.init) ?? uri
            switch path {
            case "/state", "/state/":
                let body = (try? Self.encoder.encode(runtime.snapshot())) ?? Data("{}".utf8)
                respond(context: context, status: .ok, body: body)
            case "/digest", "/digest/":
                let body = (try? Self.encoder.encode(ServerDigest(runtime.snapshot()))) ?? Data("{}".utf8)
                respond(context: context, status: .ok, body: body)
            case "/healthz":
                respond(context: context, status: .ok, body: Data("{\"status\":\"ok\"}".utf8))
            default:
                respond(context: context, status: .notFound,
                        body: Data("{\"error\":\"not found\",\"endpoints\":[\"/state\",\"/digest\",\"/healthz\"]}".utf8))
            }
        }
    }

    private func respond(context: ChannelHandlerContext, status: HTTPResponseStatus, body: Data) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.count + 1)")
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count + 1)
        buffer.writeBytes(body)
        buffer.writeString("\n")
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let keepAlive = self.keepAlive
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
