import CRCCore
import CRCProtocol
import CRCTerminal
import CSystemShims
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOHTTP1
import NIOConcurrencyHelpers
import NIOPosix
import CRCContract

/// Process exit statuses of crc-server.
public enum ServerExitCode: Int32, Sendable {
    case ok = 0
    /// Could not start or keep running: port in use, upstream unreachable, unreadable log file.
    case failure = 1
    /// The upstream refused this server's id as a duplicate.
    case idRefused = 2
}

/// Runs one server until it is told to stop. All of it lives on a single event loop.
public enum ServerApp {
    public static func run(_ config: ServerConfiguration) -> ServerExitCode {
        #if os(Linux)
        // Buffers over 512 KiB (large bursts of queued writes) get pages of their own, which go
        // back to the system when freed. (glibc otherwise raises this threshold after the first
        // such free, and later bursts leave their pages in the heap.)
        _ = crc_set_mmap_threshold(512 * 1024)
        #endif
        let jsonSink: LineSink?
        do {
            jsonSink = try config.logFile.map { try LineSink(path: $0) }
        } catch {
            printError("crc-server: \(error)")
            return .failure
        }
        let textSink = LineSink.standardError
        var configuredLogger = Logger(label: "crc-server") { _ in
            ServerLogHandler(text: textSink, textLevel: max(config.stderrLevel ?? config.logLevel, config.logLevel),
                             json: jsonSink, jsonLevel: config.logLevel)
        }
        configuredLogger.logLevel = config.logLevel
        configuredLogger[metadataKey: "server"] = .string(config.name)
        configuredLogger[metadataKey: "server_id"] = .stringConvertible(config.id)
        let logger = configuredLogger

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        // Log lines are written once per turn of the loop, and whatever is left before exiting.
        textSink.flushOnTurn(of: loop)
        jsonSink?.flushOnTurn(of: loop)
        defer {
            jsonSink?.finish(within: 5)
            textSink.finish(within: 0.5)
        }
        let runtime = ServerRuntime(configuration: config, eventLoop: loop, logger: logger)
        let monitorConnections = ConnectionCounter(limit: MonitorHandler.maxConnections)
        defer { try? loop.submit { runtime.abandon() }.wait() }

        // 1. Listen.
        let listener: Channel
        do {
            listener = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelInitializer { channel in
                    // Out of descriptors (EMFILE/ENFILE): stop accepting for a moment instead of
                    // retrying at once in a loop, and say so once a second.
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(logger: logger))
                    }
                }
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try prepareLink(channel, runtime: runtime, config: config, outbound: false)
                    }
                }
                .bind(host: config.bindHost, port: config.port).wait()
        } catch {
            printError("crc-server: cannot listen on \(config.bindHost):\(config.port): \(describe(error))")
            return .failure
        }
        let port = listener.localAddress?.port ?? config.port
        try? loop.submit { runtime.port = port }.wait()

        // 2. Monitoring endpoint: a few connections at a time, each closed when idle.
        var monitorPort: Int?
        if let mp = config.monitorPort {
            do {
                let monitor = try ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            guard monitorConnections.open() else {
                                channel.close(promise: nil)
                                return
                            }
                            channel.closeFuture.whenComplete { _ in monitorConnections.closed() }
                            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: MonitorHandler.idleTimeout))
                            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                            try channel.pipeline.syncOperations.addHandler(MonitorHandler(runtime: runtime))
                        }
                    }
                    .bind(host: config.bindHost, port: mp).wait()
                monitorPort = monitor.localAddress?.port
            } catch {
                printError("crc-server: cannot open the monitoring port \(config.bindHost):\(mp): \(describe(error))")
                return .failure
            }
        }

        // 3. Join the upstream server.
        if let upstream = config.upstream {
            let (address, isSeedName) = resolveSeedHost(upstream.host)
            if isSeedName {
                logger.debug(.upstreamSeedName, metadata: ["name": .string(upstream.host), "address": .string(address)])
            }
            let connect: @Sendable () -> EventLoopFuture<Channel> = {
                ClientBootstrap(group: loop)
                    .connectTimeout(.seconds(5))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try prepareLink(channel, runtime: runtime, config: config, outbound: true)
                        }
                    }
                    .connect(host: address, port: upstream.port)
            }
            try? loop.submit {
                runtime.connectUpstream = connect
                runtime.beginJoin()
            }.wait()
            do {
                _ = try connect().wait()
            } catch {
                printError("crc-server: cannot reach upstream \(upstream.host) at \(address):\(upstream.port): \(describe(error))")
                return .failure
            }
        } else {
            try? loop.submit { runtime.joinedSucceedWithoutUpstream() }.wait()
        }

        // 4. Wait until the upstream accepted us, refused us, or went silent.
        let exitPromise = loop.makePromise(of: ServerExitCode.self)
        runtime.fatalFuture.whenSuccess { reason in
            printError("crc-server: \(reason)")
            runtime.shutdown(text: "refused").whenComplete { _ in exitPromise.succeed(.idRefused) }
        }
        let monitorPortChosen = monitorPort
        let joinTimeout = loop.scheduleTask(in: .seconds(10)) {
            printError("crc-server: upstream did not answer this server's registration within 10 s")
            exitPromise.succeed(.failure)
        }
        runtime.joinedFuture.whenSuccess {
            joinTimeout.cancel()
            let ready = ReadyLine(id: config.id, name: config.name, host: config.bindHost, port: port, monitorPort: monitorPortChosen, pid: getpid())
            writeFully(1, ready.text + "\n")
            var md: Logger.Metadata = ["port": .stringConvertible(port)]
            if let m = monitorPortChosen { md["monitor_port"] = .stringConvertible(m) }
            logger.info(.ready, metadata: md)
        }

        // 5. Stop on SIGINT/SIGTERM: announce, flush, close, exit 0.
        let signalQueue = DispatchQueue(label: "crc-server.signals")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: signalQueue)
            source.setEventHandler {
                loop.execute {
                    logger.info(.signal, metadata: ["signal": "\(sig == SIGINT ? "SIGINT" : "SIGTERM")"])
                    runtime.shutdown(text: "\(config.name) shutting down").whenComplete { _ in
                        exitPromise.succeed(.ok)
                    }
                    // Do not wait forever for peers that will not close.
                    loop.scheduleTask(in: .seconds(2)) { exitPromise.succeed(.ok) }
                }
            }
            source.resume()
            sources.append(source)
        }

        let code = (try? exitPromise.futureResult.wait()) ?? .failure
        sources.forEach { $0.cancel() }
        listener.close(promise: nil)
        return code
    }

    /// Every link, accepted or to the upstream: low-latency, keepalive-probed sockets whose bytes
    /// are framed straight into the runtime.
    static func prepareLink(_ channel: Channel, runtime: ServerRuntime, config: ServerConfiguration, outbound: Bool) throws {
        func tcp(_ name: Int32) -> ChannelOptions.Types.SocketOption {
            ChannelOptions.Types.SocketOption(level: .init(IPPROTO_TCP), name: .init(name))
        }
        guard let options = channel.syncOptions else { throw ChannelError.operationUnsupported }
        try options.setOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
        try options.setOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
        try options.setOption(tcp(TCP_KEEPIDLE), value: SocketOptionValue(config.keepaliveIdle))
        try options.setOption(tcp(TCP_KEEPINTVL), value: SocketOptionValue(config.keepaliveInterval))
        try options.setOption(tcp(TCP_KEEPCNT), value: SocketOptionValue(config.keepaliveCount))
        try options.setOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16_384, maximum: 262_144))
        try channel.pipeline.syncOperations.addHandler(LinkHandler(runtime: runtime, limits: config.limits, outbound: outbound))
    }

    static func describe(_ error: Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first {
            return describe(first.error)
        }
        if error is ChannelError, case ChannelError.connectTimeout = error { return "connection timed out" }
        return "\(error)"
    }
}

/// Accept failures (out of descriptors, out of memory) on the listener: accepting pauses for a
/// moment, and a warning says so at most once a second with how many occurred.
///
/// (NIO's own `AcceptBackoffHandler` cannot do this: after a failed accept NIO keeps the listener
/// registered for reading, so the readiness of the connection still waiting wakes the loop again
/// at once. Turning `autoRead` off unregisters it; it is turned back on after the pause.)
final class AcceptPauseHandler: ChannelInboundHandler {
    typealias InboundIn = Channel
    private let logger: Logger
    private var lastLogged: NIODeadline?
    private var suppressed = 0
    private var paused = false
    static let pause = TimeAmount.milliseconds(250)

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let io = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(io.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        let now = NIODeadline.now()
        if let last = lastLogged, now - last < .seconds(1) {
            suppressed += 1
        } else {
            logger.warning(.acceptFailed, metadata: [
                "reason": .string(String(cString: strerror(io.errnoCode))),
                "failures_since_last_warning": .stringConvertible(suppressed + 1),
                "pause_ms": .stringConvertible(Self.pause.nanoseconds / 1_000_000),
            ])
            lastLogged = now
            suppressed = 0
        }
        guard !paused else { return }
        paused = true
        let channel = context.channel
        try? channel.syncOptions?.setOption(.autoRead, value: false)
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) { [self] in
            paused = false
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}

/// Open connections against a limit; thread-safe.
final class ConnectionCounter: Sendable {
    private let count = NIOLockedValueBox(0)
    let limit: Int
    init(limit: Int) { self.limit = limit }
    func open() -> Bool { count.withLockedValue { n in n < limit ? { n += 1; return true }() : false } }
    func closed() { count.withLockedValue { $0 -= 1 } }
}

public func printError(_ line: String) {
    writeErr(line)
}
