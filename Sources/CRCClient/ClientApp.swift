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

/// The crc-client process: connect, register, read commands from stdin until the end.
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

        // Commands from stdin; end of input (Ctrl-D) quits.
        let interactive = config.interactive
        DispatchQueue(label: "crc-client.stdin").async {
            if interactive {
                while let line = LineEditor.shared.readLine(prompt: "\(config.username)> ") {
                    loop.execute { session.handle(line: line) }
                }
                LineEditor.shared.printAbove("(end of input: leaving)")
            } else {
                while let line = readLine(strippingNewline: true) {
                    loop.execute { session.handle(line: line) }
                }
            }
            loop.execute { session.endOfInput() }
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
