import ArgumentParser
import CSystemShims
import CRCProtocol
import Logging
import NIOCore

/// The command line of the executable (also embedded in crc-cluster).
public struct ServerCLI: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "crc-server",
        abstract: "A Clemson Relay Chat server: joins the spanning tree and relays registrations, chats, statuses and quits.",
        discussion: """
        Options are those of the course's harness, so its command lines run unchanged:
          crc-server --id 1 --servername theshire --port 31101 --info "Home of the hobbits" --log-file theshire.log
          crc-server --id 2 --servername rivendale --port 0 --info x --connect_to_host theshire --connect_to_port 31101

        UPSTREAM: in the seed, --connect_to_host is the upstream server's *name* and the address is \
        always this machine. A bare name without dots (theshire) therefore means 127.0.0.1; an IP \
        address, `localhost`, or a dotted host name is connected to as given.

        READY: once listening (and, with an upstream, accepted by it) the server prints one JSON \
        line on stdout: {"event":"ready","id":..,"name":..,"host":..,"port":..,"monitor_port":..,"pid":..}. \
        With --port 0 that line tells which port was chosen.

        STATE: with --monitor-port, `GET http://HOST:PORT/state` returns the whole state as JSON \
        (known hosts with kind, name, info and first link; adjacent servers and clients; status log; \
        per-link message and byte counters and bytes pending) without disturbing the server.

        LOGS: readable text on stderr; with --log-file, one JSON object a line. At --log-level debug \
        every routed chat and forwarded registration is logged with its next hop.

        EXIT STATUS: 0 after SIGINT/SIGTERM (the server announces its departure first); \
        1 when it cannot start (port in use, upstream unreachable, log file unwritable); \
        2 when the upstream refused its id as a duplicate; 64 for bad options.

        LOST UPSTREAM: a server whose upstream link closes (the upstream stopped, crashed, or the \
        link was cut) forgets everything behind it, tells its side of the tree, and keeps trying to \
        reconnect to the same address (0.1 s, doubling to 1 s). When the upstream is back it \
        registers again and both sides exchange what they know. --no-rejoin disables this.
        """,
        version: crcVersion)

    @Option(name: .customLong("id"), help: "This server's 32-bit id, unique in the network (not 0).")
    var id: UInt32

    @Option(name: .customLong("servername"), help: "This server's name (at most 255 bytes).")
    var serverName: String

    @Option(name: .customLong("port"), help: "TCP port to listen on; 0 picks a free one.")
    var port: Int

    @Option(name: .customLong("info"), help: "Free-text description of this server.")
    var info: String = ""

    @Option(name: .customLong("connect_to_host"), help: "Upstream server to join: its name (seed style) or a host/address.")
    var connectToHost: String?

    @Option(name: .customLong("connect_to_port"), help: "Upstream server's port.")
    var connectToPort: Int?

    @Option(name: .customLong("log-file"), help: "Append a JSON-lines log of what the server does to this file.")
    var logFile: String?

    @Option(name: .customLong("bind"), help: "Address to listen on.")
    var bind: String = "127.0.0.1"

    @Option(name: .customLong("monitor-port"), help: "Serve GET /state as JSON on this port (0 = any free port).")
    var monitorPort: Int?

    @Option(name: .customLong("log-level"), help: "How much the server logs.")
    var logLevel: LogLevel = .info

    @Option(name: .customLong("register-timeout"), help: "Seconds a new connection may take to register before it is closed.")
    var registerTimeout: Double = 20

    @Option(name: .customLong("max-connections"), help: "Connections beyond this many are closed when accepted. By default 4096, or fewer when the open-files limit (ulimit -n) leaves less room: the limit minus 32 for the server's own files.")
    var maxConnections: Int?

    @Option(name: .customLong("slow-consumer-timeout"), help: "Seconds a peer may take nothing while others wait for it before it is disconnected. A peer that is merely slower than its senders is not cut: the server stops reading from the senders until it catches up (back-pressure).")
    var slowConsumerTimeout: Double = 10

    @Option(name: .customLong("max-client-queue"), help: "Bytes that may queue for one client before it is disconnected, whatever the timeout (a memory cap).")
    var maxClientQueue = 4 << 20

    @Option(name: .customLong("max-server-queue"), help: "Bytes that may queue for a neighbour server before its link is closed (a memory cap).")
    var maxServerQueue = 64 << 20

    @Option(name: .customLong("keepalive-idle"), help: "Seconds of silence before TCP keepalive probes a peer. A vanished peer is dropped after idle + interval × count seconds (10 + 5 × 3 by default).")
    var keepaliveIdle = 10

    @Option(name: .customLong("keepalive-interval"), help: "Seconds between unanswered keepalive probes.")
    var keepaliveInterval = 5

    @Option(name: .customLong("keepalive-count"), help: "Unanswered keepalive probes after which the link is closed.")
    var keepaliveCount = 3

    @Flag(name: .customLong("rejoin"), inversion: .prefixedNo,
          help: "When the link to the upstream is lost after joining, keep reconnecting to it (backing off from 0.1 s to 1 s) and rejoin once it is back.")
    var rejoin = true

    @Option(name: .customLong("stderr-level"), help: "Level of the text on stderr, if it should differ from --log-level (for example info, while the file gets debug).")
    var stderrLevel: LogLevel?

    @Option(name: .customLong("compat"), help: "The neighbours to expect: standard, or course (the course's servers and students' servers from its template, which exit on a server quit: none is sent; losses are still purged locally).")
    var compat: PeerProfile = .standard

    @Option(name: .customLong("max-text-bytes"), help: "Largest chat/status/quit text accepted from a peer.")
    var maxTextBytes: Int = Limits.defaultMaxTextLength

    public func validate() throws {
        guard id != 0 else { throw ValidationError("--id must not be 0: it is reserved for \"no one\".") }
        guard serverName.utf8.count <= 255 else { throw ValidationError("--servername is longer than 255 bytes.") }
        guard info.utf8.count <= 65_535 else { throw ValidationError("--info is longer than 65,535 bytes.") }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0-65535, got \(port).") }
        if let p = monitorPort, !(0...65_535).contains(p) {
            throw ValidationError("--monitor-port must be 0-65535, got \(p).")
        }
        switch (connectToHost, connectToPort) {
        case (nil, nil): break
        case (.some, .some(let p)):
            guard (1...65_535).contains(p) else { throw ValidationError("--connect_to_port must be 1-65535, got \(p).") }
        default:
            throw ValidationError("--connect_to_host and --connect_to_port go together: give both or neither.")
        }
        guard registerTimeout > 0 else { throw ValidationError("--register-timeout must be positive.") }
        guard slowConsumerTimeout > 0 else { throw ValidationError("--slow-consumer-timeout must be positive.") }
        guard (maxConnections ?? 1) > 0, maxClientQueue > 0, maxServerQueue > 0 else {
            throw ValidationError("--max-connections, --max-client-queue and --max-server-queue must be positive.")
        }
        guard keepaliveIdle > 0, keepaliveInterval > 0, keepaliveCount > 0 else {
            throw ValidationError("--keepalive-idle, --keepalive-interval and --keepalive-count must be positive.")
        }
        guard maxTextBytes > 0 else { throw ValidationError("--max-text-bytes must be positive.") }
    }

    public func run() throws {
        var config = ServerConfiguration(id: id, name: serverName, info: info, port: port)
        config.bindHost = bind
        if let h = connectToHost, let p = connectToPort { config.upstream = (h, p) }
        config.monitorPort = monitorPort
        config.logFile = logFile
        config.logLevel = logLevel.level
        config.stderrLevel = stderrLevel?.level
        config.limits = Limits(maxTextLength: maxTextBytes)
        config.registerTimeout = .milliseconds(Int64(registerTimeout * 1000))
        config.maxConnections = maxConnections ?? ServerConfiguration.defaultMaxConnections()
        config.slowConsumerTimeout = .milliseconds(Int64(slowConsumerTimeout * 1000))
        config.maxClientQueueBytes = maxClientQueue
        config.maxServerQueueBytes = maxServerQueue
        config.keepaliveIdle = keepaliveIdle
        config.keepaliveInterval = keepaliveInterval
        config.keepaliveCount = keepaliveCount
        config.rejoinUpstream = rejoin
        config.compat = compat
        let code = ServerApp.run(config)
        if code != .ok { throw ExitCode(code.rawValue) }
    }
}


/// A log level as an option: its values are listed in `--help`, and a wrong one is refused with them.
public enum LogLevel: String, CaseIterable, ExpressibleByArgument, Sendable {
    case trace, debug, info, notice, warning, error, critical
    public var level: Logger.Level { Logger.Level(rawValue: rawValue)! }
}

extension PeerProfile: ExpressibleByArgument {}
