import CRCCore
import CSystemShims
import Foundation
import NIOPosix

public struct ClusterError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

public struct RunOptions: Sendable {
    /// The command that runs a CRC server (and a client): executable plus leading arguments.
    public var serverCommand: [String]
    public var clientCommand: [String]
    /// Where `logs/<run-id>/` goes.
    public var logRoot: URL
    /// How long the network may take to settle after a step.
    public var settleTimeout: TimeInterval = 5
    public var onOutput: (@Sendable (String, NodeProcess.Stream, String) -> Void)?
    public var onProgress: (@Sendable (String) -> Void)?
    /// Clients per process: 1 runs each client as its own crc-client; more groups them into shared
    /// host processes (`hostCommand`), for networks of thousands of clients.
    public var clientsPerProcess = 1
    public var hostCommand: [String] = []
    /// What servers print on stderr (their files always get every event, at debug level).
    public var serverStderrLevel = "info"
    /// Coarse progress: one line per launch phase.
    public var onPhase: (@Sendable (String) -> Void)?
    /// The default node commands are this package's executables, which arm their own parent-death
    /// signal; set false when `serverCommand`/`clientCommand` name other programs.
    public var nodesArmParentDeath = true
    /// True once the user asked the run to stop (Ctrl-C): checks and steps give up at once.
    public var interrupted: (@Sendable () -> Bool)?

    public init(serverCommand: [String], clientCommand: [String], logRoot: URL) {
        self.serverCommand = serverCommand
        self.clientCommand = clientCommand
        self.logRoot = logRoot
    }
}

/// A running network: the processes of one topology, the model of what they must know, and the
/// checks that compare the two. Effects live here; the expectations come from `NetworkModel`.
public final class ClusterRun: @unchecked Sendable {
    public struct ServerNode {
        public var process: NodeProcess
        public var port: Int
        public var monitorPort: Int?
        public var logFile: URL
    }

    public struct ExitRecord: Sendable {
        public var node: String
        public var pid: Int32
        public var status: String
    }

    public let topology: Topology
    public let runID: String
    public let runDir: URL
    public let options: RunOptions
    public private(set) var model: NetworkModel
    public private(set) var servers: [String: ServerNode] = [:]
    public private(set) var clients: [String: ClientEndpoint] = [:]
    /// Processes that host many clients each (with `clientsPerProcess` > 1).
    public private(set) var clientHosts: [NodeProcess] = []
    /// Every node in the order it was started (teardown goes the other way).
    public private(set) var launchOrder: [String] = []
    private var chatFlows: [String: Int] = [:]   // "server|src|dst|next" → chats that server must have logged
    private var unknownAnswers: [String: Int] = [:]  // "server|src|dst" → unknown-id answers logged
    private let lock = NSLock()
    /// How the last teardown went: seconds in all, waves, and the slowest wave's seconds.
    public private(set) var lastTeardown: (seconds: Double, waves: Int, slowestWave: Double)?
    /// Processes the nodes had started and left running, killed at teardown.
    public private(set) var leftoversKilled = 0
    /// Relays on the server links that the scenario cuts, delays or heals, by downstream server.
    public private(set) var relays: [String: LinkRelay] = [:]
    private var relayGroup: MultiThreadedEventLoopGroup?
    private let relayedLinks: Set<String>

    public init(topology: Topology, options: RunOptions, runID: String) throws {
        self.topology = topology
        self.options = options
        self.model = NetworkModel(topology: topology)
        self.runID = runID
        relayedLinks = Set(topology.steps.compactMap(\.action.faultedLink))
        runDir = options.logRoot.appendingPathComponent(runID)
        try Self.makeFreshDirectory(runDir)
        let latest = options.logRoot.appendingPathComponent("latest")
        try? FileManager.default.removeItem(at: latest)
        try? FileManager.default.createSymbolicLink(atPath: latest.path, withDestinationPath: runID)
    }

    /// Creates the run's log folder, which must not exist yet (run ids are random; a clash is
    /// an error rather than two runs mixing their logs), with a plain message when it cannot.
    static func makeFreshDirectory(_ dir: URL) throws {
        let parent = dir.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw ClusterError("cannot create the log folder \(parent): \(describeFileError(error)) (choose another with --logs)")
        }
        guard mkdir(dir.path, 0o755) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ClusterError("cannot create the run's log folder \(dir.path): \(reason) (choose another with --logs)")
        }
    }

    public static func makeRunID(_ name: String) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        let safe = name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        let suffix = String(UInt64.random(in: 0...UInt64(UInt32.max)) | (1 << 32), radix: 16).dropFirst()  // 8 hex digits
        return "\(f.string(from: Date()))-\(String(safe))-\(suffix)"
    }

    func logFile(_ node: String) -> URL { runDir.appendingPathComponent("\(node).log") }

    // MARK: Launching

    /// Starts every node that starts with the network: servers once their upstream is ready (each
    /// wave in parallel), then clients, then the nodes that are expected to be refused, one by one.
    public func launchAll() throws {
        let initialServers = topology.servers.filter { $0.start ?? true }
        var pending = initialServers.filter { !($0.refused ?? false) }
        while !pending.isEmpty {
            let wave = pending.filter { s in s.upstream == nil || servers[s.upstream!] != nil || !pending.contains { $0.name == s.upstream } }
            guard !wave.isEmpty else { throw ClusterError("cannot order the servers: their upstreams are not started") }
            try startServers(wave.map(\.name))
            pending.removeAll { s in wave.contains { $0.name == s.name } }
        }
        options.onPhase?("\(servers.count) servers ready")
        let initialClients = topology.clients.filter { $0.start ?? true }
        try startClients(initialClients.filter { !($0.refused ?? false) }.map(\.name))
        options.onPhase?("\(clients.count) clients registered")
        for s in initialServers where s.refused ?? false { try startServers([s.name]) }
        for c in initialClients where c.refused ?? false { try startClients([c.name]) }
    }

    /// Every process started, under `lock` (the signal path reads it): for teardown and force-kill.
    private var everyProcess: [NodeProcess] = []
    /// The newest process of each node started by name, under `lock`, ready or not.
    private var latest: [String: NodeProcess] = [:]

    private func record(_ name: String, _ p: NodeProcess) {
        lock.withLock {
            launchOrder.append(name)
            latest[name] = p
            everyProcess.append(p)
        }
    }

    /// Nodes the model expects running that have exited, with how they ended.
    public func unexpectedExits() -> [(node: String, status: NodeProcess.ExitStatus)] {
        var out: [(String, NodeProcess.ExitStatus)] = []
        for name in model.liveServers.sorted() {
            if let status = servers[name]?.process.exitStatus { out.append((name, status)) }
        }
        for name in model.liveClients.sorted() {
            if let status = clients[name]?.exitStatus { out.append((name, status)) }
        }
        return out
    }

    /// SIGKILL to every process of the run and its process group, at once. Safe from any thread
    /// (a second Ctrl-C).
    public func killAll() {
        for p in lock.withLock({ everyProcess }) {
            p.signal(SIGKILL)
            p.signalGroup(SIGKILL)
        }
    }

    private func commandFor(server: Bool, node: String) -> [String] {
        if server, let c = topology.server(named: node)?.command { return c }
        if !server, let c = topology.client(named: node)?.command { return c }
        return server ? options.serverCommand : options.clientCommand
    }

    /// The environment of every process of this run: tagged with the run's id, so that whatever a
    /// node starts (and leaves behind) is found and stopped at teardown.
    private var nodeEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env[ChildReaper.runTagVariable] = runID
        return env
    }

    private func makeProcess(_ name: String, command: [String], arguments: [String]) -> NodeProcess {
        let ours = command == options.serverCommand || command == options.clientCommand
        let p = NodeProcess(name: name, executable: command[0], arguments: Array(command.dropFirst()) + arguments,
                            environment: nodeEnvironment,
                            parentDeath: ours && options.nodesArmParentDeath ? .selfArmed : .setpriv)
        if let sink = options.onOutput {
            p.onLine = { proc, stream, line in sink(proc.name, stream, line) }
        }
        return p
    }

    func startServers(_ names: [String]) throws {
        var started: [(String, NodeProcess)] = []
        for name in names {
            let spec = topology.server(named: name)!
            // A server that comes back takes its old port, where its downstream servers look for it.
            let port = spec.port ?? servers[name].flatMap { $0.port > 0 ? $0.port : nil } ?? 0
            var args = ["--id", "\(spec.id)", "--servername", spec.name, "--port", "\(port)",
                        "--info", spec.info ?? "", "--log-file", logFile(name).path,
                        "--monitor-port", "0", "--log-level", "debug", "--stderr-level", options.serverStderrLevel]
            if let up = spec.upstream {
                guard let upNode = servers[up], upNode.process.isRunning else {
                    throw ClusterError("cannot start server '\(name)': its upstream '\(up)' is not running")
                }
                if model.cutLinks.contains(name) {
                    throw ClusterError("cannot start server '\(name)' while its upstream link is cut: heal it first")
                }
                args += ["--connect_to_host", "127.0.0.1", "--connect_to_port", "\(try relayPort(for: name, upstreamPort: upNode.port))"]
            }
            let p = makeProcess(name, command: commandFor(server: true, node: name), arguments: args)
            try p.start()
            record(name, p)
            started.append((name, p))
        }
        for (name, p) in started {
            let expected = model.start(name)
            if expected == .refused {
                guard let status = p.waitForExit(timeout: options.settleTimeout) else {
                    throw ClusterError("server '\(name)' reuses an id and should have been refused, but it is still running")
                }
                servers[name] = ServerNode(process: p, port: 0, monitorPort: nil, logFile: logFile(name))
                guard status == .exited(2) else {
                    throw ClusterError("server '\(name)' should have been refused (exit 2), but ended with \(status)\n\(tail(of: p))")
                }
                continue
            }
            guard let ready = p.waitForEvent("ready", timeout: options.settleTimeout),
                  let port = ready["port"] as? Int else {
                // Its output ended or the deadline passed: if it is exiting, say how it ended.
                let why = p.waitForExit(timeout: 1).map { "it ended with \($0)" } ?? "it did not report ready within \(options.settleTimeout) s"
                throw ClusterError("server '\(name)' never became ready: \(why)\n\(tail(of: p))")
            }
            servers[name] = ServerNode(process: p, port: port, monitorPort: ready["monitor_port"] as? Int, logFile: logFile(name))
            options.onProgress?("server \(name) ready on port \(port) (pid \(p.pid))")
        }
    }

    /// The port a server dials for its upstream: the upstream itself, or the relay crc-cluster puts
    /// on that link when a step cuts, delays or heals it.
    private func relayPort(for server: String, upstreamPort: Int) throws -> Int {
        guard relayedLinks.contains(server) else { return upstreamPort }
        if let relay = relays[server] { return relay.port }
        let group = relayGroup ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        relayGroup = group
        let relay = LinkRelay(name: server, targetPort: upstreamPort, loop: group.next())
        do { try relay.start() } catch {
            throw ClusterError("cannot open a relay for the link of '\(server)': \(error)")
        }
        relays[server] = relay
        return relay.port
    }

    func startClients(_ names: [String]) throws {
        if options.clientsPerProcess > 1, names.count > 1 { return try startHostedClients(names) }
        var started: [(String, ClientEndpoint)] = []
        for name in names {
            let spec = topology.client(named: name)!
            guard let server = servers[spec.server], server.process.isRunning else {
                throw ClusterError("cannot start client '\(name)': its server '\(spec.server)' is not running")
            }
            let args = ["--id", "\(spec.id)", "--serverhost", "127.0.0.1", "--serverport", "\(server.port)",
                        "--username", spec.name, "--info", spec.info ?? "", "--log-file", logFile(name).path, "--json"]
            let p = makeProcess(name, command: commandFor(server: false, node: name), arguments: args)
            try p.start()
            record(name, p)
            let endpoint = ClientEndpoint(name: name, process: p, hosted: false)
            clients[name] = endpoint
            started.append((name, endpoint))
        }
        try awaitRegistration(started)
    }

    /// Clients grouped into host processes of `clientsPerProcess` each.
    func startHostedClients(_ names: [String]) throws {
        var started: [(String, ClientEndpoint)] = []
        var index = clientHosts.count
        for chunk in stride(from: 0, to: names.count, by: options.clientsPerProcess).map({ Array(names[$0..<min($0 + options.clientsPerProcess, names.count)]) }) {
            var specs: [[String: Any]] = []
            for name in chunk {
                let spec = topology.client(named: name)!
                guard let server = servers[spec.server], server.process.isRunning else {
                    throw ClusterError("cannot start client '\(name)': its server '\(spec.server)' is not running")
                }
                specs.append(["id": Int(spec.id), "name": spec.name, "info": spec.info ?? "", "server_host": "127.0.0.1",
                              "server_port": server.port, "log_file": logFile(name).path])
            }
            index += 1
            let hostName = "clients-\(index)"
            let specFile = runDir.appendingPathComponent("\(hostName).json")
            try JSONSerialization.data(withJSONObject: specs).write(to: specFile)
            let p = NodeProcess(name: hostName, executable: options.hostCommand[0],
                                arguments: Array(options.hostCommand.dropFirst()) + ["--spec", specFile.path],
                                environment: nodeEnvironment, parentDeath: options.nodesArmParentDeath ? .selfArmed : .setpriv)
            if let sink = options.onOutput { p.onLine = { proc, stream, line in sink(proc.name, stream, line) } }
            try p.start()
            clientHosts.append(p)
            lock.withLock { everyProcess.append(p) }
            for name in chunk {
                lock.withLock { launchOrder.append(name) }
                let endpoint = ClientEndpoint(name: name, process: p, hosted: true)
                clients[name] = endpoint
                started.append((name, endpoint))
            }
        }
        try awaitRegistration(started)
    }

    private func awaitRegistration(_ started: [(String, ClientEndpoint)]) throws {
        for (name, p) in started {
            let expected = model.start(name)
            let event = expected == .refused ? "refused" : "registered"
            guard p.waitForEvent(event, timeout: options.settleTimeout) != nil else {
                let why = p.waitForExit(timeout: 1).map { "it ended with \($0)" } ?? "no '\(event)' event within \(options.settleTimeout) s"
                throw ClusterError("client '\(name)' was expected to be \(expected == .refused ? "refused" : "welcomed"): \(why)\n\(tail(of: p.process, node: name))")
            }
            options.onProgress?("client \(name) \(expected == .refused ? "refused, as expected" : "registered") (pid \(p.pid))")
        }
    }

    // MARK: Steps

    public func perform(_ step: Step) throws {
        switch step {
        case .settle:
            break
        case .start(let name):
            if topology.server(named: name) != nil { try startServers([name]) } else { try startClients([name]) }
        case .restart(let name):
            let running = servers[name]?.process.isRunning ?? clients[name]?.isRunning ?? false
            if running { try perform(.stop(name)) }
            try perform(.start(name))
        case .cut(let name):
            guard let relay = relays[name] else { throw ClusterError("no relay on the link of '\(name)': is it running?") }
            model.cut(name)
            relay.cut()
        case .delay(let name, let ms):
            guard let relay = relays[name] else { throw ClusterError("no relay on the link of '\(name)': is it running?") }
            relay.setDelay(.milliseconds(Int64(ms)))
        case .heal(let name):
            guard let relay = relays[name] else { throw ClusterError("no relay on the link of '\(name)': is it running?") }
            model.heal(name)
            relay.heal()
        case .stop(let name), .kill(let name):
            let killed: Bool
            if case .kill = step { killed = true } else { killed = false }
            let status: NodeProcess.ExitStatus?
            if let server = servers[name]?.process, server.isRunning {
                _ = model.stop(name, killed: killed)
                server.signal(killed ? SIGKILL : SIGTERM)
                status = server.waitForExit(timeout: options.settleTimeout)
            } else if let client = clients[name], client.isRunning {
                _ = model.stop(name, killed: killed)
                client.signal(killed ? SIGKILL : SIGTERM)
                status = client.waitForExit(timeout: options.settleTimeout)
            } else {
                throw ClusterError("cannot \(killed ? "kill" : "stop") '\(name)': it is not running")
            }
            guard let status else {
                throw ClusterError("'\(name)' did not stop within \(options.settleTimeout) s after \(killed ? "SIGKILL" : "SIGTERM")")
            }
            if !killed, status != .exited(0) { throw ClusterError("'\(name)' stopped with \(status), expected exit 0") }
            let orphans = topology.clients.filter { $0.server == name && model.status[$0.name] == .disconnected }.map(\.name)
            for o in orphans {
                if let c = clients[o], c.waitForExit(timeout: options.settleTimeout) == nil {
                    throw ClusterError("client '\(o)' kept running after its server '\(name)' went away")
                }
            }
        case .quit(let name, let text):
            guard let p = clients[name], p.isRunning else { throw ClusterError("cannot quit '\(name)': it is not running") }
            model.quit(name)
            p.send("quit \(text)")
            guard let status = p.waitForExit(timeout: options.settleTimeout) else {
                throw ClusterError("client '\(name)' did not exit after quitting")
            }
            if status != .exited(0) { throw ClusterError("client '\(name)' quit with \(status), expected exit 0") }
        case .chat(let from, let to, let text):
            guard let p = clients[from], p.isRunning else { throw ClusterError("cannot chat from '\(from)': it is not running") }
            let destination = UInt32(to) ?? topology.client(named: to)!.id
            let sender = topology.client(named: from)!
            switch model.chat(from: from, to: to, text: text) {
            case .delivered(_, let hops):
                for hop in hops { chatFlows["\(hop.server)|\(sender.id)|\(destination)|\(hop.nextHop)", default: 0] += 1 }
            case .unknownDestination(let server):
                unknownAnswers["\(server)|\(sender.id)|\(destination)", default: 0] += 1
            case .senderNotLive:
                break
            }
            p.send("msg \(destination) \(text)")
        }
    }

    // MARK: Checking

    /// Polls until the network matches the model (and, with `final`, the hand-written
    /// expectations), or the deadline passes; returns what still differs.
    public func check(final: Bool = false, within: TimeInterval? = nil) -> [Difference] {
        let deadline = Date().addingTimeInterval(within ?? options.settleTimeout)
        var diffs: [Difference] = []
        var pause: UInt32 = 1_000
        var round = 0
        repeat {
            let t0 = Date()
            diffs = compare(final: final)
            round += 1
            options.onPhase?(String(format: "check round %d: %d differences (%.2f s)", round, diffs.count, Date().timeIntervalSince(t0)))
            if diffs.isEmpty { return [] }
            // A crash will not heal, and what cannot be observed will not become observable.
            if diffs.contains(where: { $0.field == "process" || $0.field == "unobservable" }) { return diffs }
            if options.interrupted?() == true { return diffs }
            // Poll again soon, then less often: settling usually takes a few milliseconds, and every
            // poll costs the nodes work too.
            usleep(pause)
            pause = min(pause * 2, 25_000)
        } while Date() < deadline
        // The deadline passed: report everything that differs, clients included (while polling,
        // clients are asked only once the servers agree, since they learn from servers).
        if diffs.contains(where: { $0.field != "process" && $0.field != "unobservable" }) { diffs = compare(final: final, everything: true) }
        return diffs
    }

    func compare(final: Bool, everything: Bool = false) -> [Difference] {
        var diffs: [Difference] = []
        // Nodes the model expects alive must be alive.
        for name in model.liveServers {
            if let p = servers[name]?.process, let status = p.exitStatus {
                diffs.append(Difference(node: name, field: "process", detail: "exited unexpectedly (\(status))\n\(tail(of: p))"))
            }
        }
        for name in model.liveClients {
            if let c = clients[name], let status = c.exitStatus {
                diffs.append(Difference(node: name, field: "process", detail: "exited unexpectedly (\(status))\n\(tail(of: c.process, node: name))"))
            }
        }
        if !diffs.isEmpty { return diffs }

        for name in model.liveServers {
            guard let want = model.expectedServer(name), let node = servers[name] else { continue }
            guard let port = node.monitorPort else {
                // Never a silent pass: what cannot be observed fails, and says why.
                diffs.append(Difference(node: name, field: "unobservable",
                                        detail: "cannot be checked: this server has no /state endpoint (its ready line gave no monitor_port), so its hosts, links and status log cannot be read; black-box checks from the wire are not implemented yet"))
                continue
            }
            let override = final ? topology.expect[name] : nil
            // The digest first; the whole state only when something differs (to say what).
            if override == nil || (override?.hosts == nil && override?.adjacentServers == nil && override?.adjacentClients == nil && override?.statusLog == nil),
               !(final && topology.firstMessages[name] != nil),
               let d = try? MonitorClient.fetchDigest(port: port),
               d.hosts == want.hosts.count, d.hostsDigest == hostsDigest(want.hosts.map { ($0.key, $0.value) }),
               Set(d.adjacentServers) == want.adjacentServers, Set(d.adjacentClients) == want.adjacentClients,
               d.statusLog == want.statusLog, d.firstMessages == model.expectedFirstMessages(name).sorted() {
                continue
            }
            let state: ServerSnapshot
            do { state = try MonitorClient.fetchState(port: port) } catch {
                diffs.append(Difference(node: name, field: "state", detail: "cannot read /state: \(error)"))
                continue
            }
            let firsts = state.links.filter { $0.direction == "inbound" && $0.peerKind == "server" }.compactMap(\.firstMessageHex)
            let observed = ConvergenceChecker.ServerObservation(
                hosts: Dictionary(state.hosts.map { ($0.id, $0.firstLink) }, uniquingKeysWith: { a, _ in a }),
                adjacentServers: Set(state.adjacentServers), adjacentClients: Set(state.adjacentClients),
                statusLog: state.statusLog, firstMessages: firsts)
            diffs += ConvergenceChecker.diff(server: name, expected: want, firstMessages: model.expectedFirstMessages(name),
                                             override: override, handWrittenFirstMessages: final ? topology.firstMessages[name] : nil,
                                             observed: observed)
        }

        if !diffs.isEmpty, !everything { return diffs }  // clients learn from servers: ask them once servers agree
        // Ask every live client for a digest of its state at once, then read the answers; a client
        // whose digest differs is asked for its whole state, to say exactly what differs.
        var marks: [String: Int] = [:]
        for c in topology.clients where model.status[c.name] == .live {
            guard let p = clients[c.name] else { continue }
            marks[c.name] = p.mark
            p.send("digest")
        }
        for c in topology.clients {
            guard var want = model.expectedClient(c.name), let p = clients[c.name] else { continue }
            let override = final ? topology.expect[c.name] : nil
            if let u = override?.users { want.users = Set(u) }
            if let s = override?.statusLog { want.statusLog = s }
            if let l = override?.chatLog { want.chatLog = l }
            let got: (users: Set<UInt32>, status: [String], chats: [String])
            if model.status[c.name] == .refused {
                let events = p.events
                got = ([], events.filter { $0["event"] as? String == "refused" }.compactMap { $0["text"] as? String }, [])
            } else {
                guard let d = p.waitForEvent("digest", from: marks[c.name] ?? 0, timeout: 5) else {
                    diffs.append(Difference(node: c.name, field: "state", detail: "no answer to the digest command"))
                    continue
                }
                let dChats = ((d["chat_log"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }
                let dStatus = (d["status_log"] as? [String]) ?? []
                if d["users"] as? Int == want.users.count, d["users_digest"] as? String == usersDigest(want.users),
                   dChats == want.chatLog, dStatus == want.statusLog {
                    continue
                }
                let mark = p.mark
                p.send("state")
                guard let s = p.waitForEvent("state", from: mark, timeout: 5) else {
                    diffs.append(Difference(node: c.name, field: "state", detail: "no answer to the state command"))
                    continue
                }
                let users = Set(((s["users"] as? [[String: Any]]) ?? []).compactMap { ($0["id"] as? Int).map(UInt32.init) })
                got = (users, (s["status_log"] as? [String]) ?? [], ((s["chat_log"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String })
            }
            diffs += ConvergenceChecker.diff(client: c.name, expected: want,
                                             observed: .init(users: got.users, statusLog: got.status, chatLog: got.chats))
        }
        if diffs.isEmpty || everything { diffs += checkPaths() }
        return diffs
    }

    /// Every chat must appear in the logs of exactly the servers on its tree path, each with the
    /// right next hop; unknown destinations must be answered by the sender's server.
    func checkPaths() -> [Difference] {
        var counted: [String: Int] = [:]
        var unknown: [String: Int] = [:]
        let needle = Array("\"event\":\"chat".utf8)
        for (name, node) in servers {
            guard let data = FileManager.default.contents(atPath: node.logFile.path) else { continue }
            for line in Self.lines(containing: needle, in: [UInt8](data)) {
                guard let o = NodeProcess.parseJSON(line), let src = o["source"] as? Int, let dst = o["destination"] as? Int else { continue }
                if o["event"] as? String == "chat", let next = o["next_hop"] as? Int {
                    counted["\(name)|\(src)|\(dst)|\(next)", default: 0] += 1
                } else if o["event"] as? String == "chat_unknown_destination" {
                    // A repeated answer is summarised: one line with the count of the others.
                    unknown["\(name)|\(src)|\(dst)", default: 0] += (o["count"] as? Int) ?? 1
                }
            }
        }
        var diffs: [Difference] = []
        for key in Set(chatFlows.keys).union(counted.keys).sorted() where chatFlows[key, default: 0] != counted[key, default: 0] {
            let p = key.split(separator: "|")
            diffs.append(Difference(node: String(p[0]), field: "chat path",
                                    detail: "chat \(p[1]) → \(p[2]) with next hop \(p[3]) logged \(counted[key, default: 0]) times, expected \(chatFlows[key, default: 0])"))
        }
        for key in Set(unknownAnswers.keys).union(unknown.keys).sorted() where unknownAnswers[key, default: 0] != unknown[key, default: 0] {
            let p = key.split(separator: "|")
            diffs.append(Difference(node: String(p[0]), field: "unknown destination",
                                    detail: "chat \(p[1]) → \(p[2]) answered \(unknown[key, default: 0]) times, expected \(unknownAnswers[key, default: 0])"))
        }
        return diffs
    }

    /// The last lines a node wrote (stderr, then its log file), for failure reports.
    public func tail(of p: NodeProcess, node: String? = nil, lines: Int = 8) -> String {
        let name = node ?? p.name
        var out = p.stderrLines.suffix(lines).map { "    \(name) stderr: \($0)" }
        if let text = try? String(contentsOf: logFile(name), encoding: .utf8) {
            out += text.split(separator: "\n").suffix(lines).map { "    \(name) log: \($0)" }
        }
        return out.joined(separator: "\n")
    }

    // MARK: Teardown

    /// Stops every node in reverse order: all clients first, then servers level by level from the
    /// leaves up to the root (the nodes of one level in parallel). SIGTERM (clients: end of input,
    /// which makes them quit), then SIGKILL after `grace`. Returns each node's exit, in launch order.
    public func teardown(grace: TimeInterval = 2, force: Bool = false) -> [ExitRecord] {
        let order = lock.withLock { launchOrder }
        var names: [String] = []
        for n in order where !names.contains(n) { names.append(n) }
        func depth(_ server: String) -> Int {
            var d = 0, cur = topology.server(named: server)?.upstream
            while let c = cur, d < 10_000 { d += 1; cur = topology.server(named: c)?.upstream }
            return d
        }
        // Clients first: each leaves (hosts end their input, so all their clients quit).
        let own = names.compactMap { clients[$0] }.filter { !$0.hosted }.map(\.process)
        var waves: [[NodeProcess]] = [own + clientHosts]
        let started = lock.withLock { latest }
        let byDepth = Dictionary(grouping: names.filter { topology.server(named: $0) != nil }, by: depth)
        for d in byDepth.keys.sorted(by: >) { waves.append(byDepth[d]!.compactMap { started[$0] }) }
        var slowest = 0.0
        let teardownStart = Date()
        for wave in waves {
            let waveStart = Date()
            defer { slowest = max(slowest, Date().timeIntervalSince(waveStart)) }
            let running = wave.filter(\.isRunning)
            for p in running {
                if force { p.signal(SIGKILL) } else if clients[p.name] != nil || clientHosts.contains(where: { $0 === p }) { p.closeStdin() } else { p.signal(SIGTERM) }
            }
            let deadline = Date().addingTimeInterval(force ? 5 : grace)
            for p in running { _ = p.waitForExit(timeout: max(0, deadline.timeIntervalSinceNow)) }
            for p in running where p.isRunning { p.signal(SIGKILL) }
            for p in running { _ = p.waitForExit(timeout: 5) }
        }
        // Whatever a node started in its process group goes with it (restarted nodes' old groups too).
        for p in lock.withLock({ everyProcess }) { p.signalGroup(SIGKILL) }
        lastTeardown = (Date().timeIntervalSince(teardownStart), waves.count, slowest)
        // And whatever left its group (setsid, double fork): every process tagged with this run.
        leftoversKilled = ChildReaper.killTagged(runID)
        for relay in relays.values { relay.close() }
        try? relayGroup?.syncShutdownGracefully()
        relayGroup = nil
        writeTimeline()
        // One line per node of the topology: how it ended, or that it never started.
        let everyNode = topology.servers.map(\.name) + topology.clients.map(\.name)
        return (names + everyNode.filter { !names.contains($0) }).map { name in
            if let c = clients[name] {
                return ExitRecord(node: name, pid: c.pid, status: c.exitStatus?.description ?? "running")
            }
            if let p = started[name] {
                return ExitRecord(node: name, pid: p.pid, status: p.exitStatus?.description ?? "running")
            }
            return ExitRecord(node: name, pid: 0, status: "not started")
        }
    }

    /// Merges every node's JSON log into one time-ordered file, `timeline.log`. Works on bytes: a
    /// large network's logs hold millions of lines.
    public func writeTimeline() {
        var entries: [(ts: Double, node: Int, line: ArraySlice<UInt8>)] = []
        var nodes: [[UInt8]] = []
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: runDir.path)) ?? []).sorted()
        let key = Array("\"ts\":\"".utf8)
        for f in files where f.hasSuffix(".log") && f != "timeline.log" {
            guard let data = FileManager.default.contents(atPath: runDir.appendingPathComponent(f).path) else { continue }
            let bytes = [UInt8](data)
            nodes.append(Array(f.dropLast(4).utf8))
            let node = nodes.count - 1
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
                let line = bytes[start..<end]
                var ts = 0.0
                if let valueStart = Self.end(of: key, in: line),
                   let q = line[valueStart...].firstIndex(of: UInt8(ascii: "\"")) {
                    ts = parseTimestamp(String(decoding: line[valueStart..<q], as: UTF8.self)) ?? 0
                }
                if !line.isEmpty { entries.append((ts, node, line)) }
                start = end + 1
            }
        }
        entries.sort { $0.ts < $1.ts }
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { $0 + $1.line.count + 24 })
        for e in entries {
            out += nodes[e.node]
            out.append(0x09)
            out += e.line
            out.append(0x0A)
        }
        FileManager.default.createFile(atPath: runDir.appendingPathComponent("timeline.log").path, contents: Data(out))
    }
}

/// "Permission denied", "No such file or directory": the POSIX reason behind a Foundation file
/// error, instead of its NSCocoaErrorDomain dump.
public func describeFileError(_ error: Error) -> String {
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    switch ns.code {
    case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
    case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or folder"
    case NSFileWriteOutOfSpaceError: return "no space left on the device"
    case NSFileWriteVolumeReadOnlyError: return "read-only file system"
    default: return ns.localizedDescription
    }
}

extension ClusterRun {
    /// The lines of `bytes` that contain `needle`, found with memmem: a large network's server
    /// logs hold hundreds of thousands of lines, and few of them are chats.
    static func lines(containing needle: [UInt8], in bytes: [UInt8]) -> [String] {
        var out: [String] = []
        bytes.withUnsafeBytes { buf in
            guard let base = buf.baseAddress else { return }
            var offset = 0
            while offset < buf.count,
                  let hit = crc_memmem(base + offset, buf.count - offset, needle, needle.count) {
                let at = base.distance(to: UnsafeRawPointer(hit))
                let start = (buf[..<at].lastIndex(of: 0x0A) ?? -1) + 1
                let end = buf[at...].firstIndex(of: 0x0A) ?? buf.count
                out.append(String(decoding: UnsafeRawBufferPointer(rebasing: buf[start..<end]), as: UTF8.self))
                offset = end + 1
            }
        }
        return out
    }

    /// Where `key` ends in `line`, if it occurs (a plain byte scan: nodes put "ts" first, so this
    /// returns within a few bytes, where a generic search costs a run of a million lines seconds).
    static func end(of key: [UInt8], in line: ArraySlice<UInt8>) -> Int? {
        guard let first = key.first, line.count >= key.count else { return nil }
        var i = line.startIndex
        let last = line.endIndex - key.count
        while i <= last {
            if line[i] == first {
                var j = 1
                while j < key.count, line[i + j] == key[j] { j += 1 }
                if j == key.count { return i + key.count }
            }
            i += 1
        }
        return nil
    }
}

/// Seconds since the epoch for "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (the nodes' log format), parsed by
/// hand: a timeline merges thousands of lines, and a date formatter per line costs more than the run.
func parseTimestamp(_ s: String) -> Double? {
    let u = Array(s.utf8)
    guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T") else { return nil }
    func num(_ a: Int, _ b: Int) -> Int? {
        var v = 0
        for i in a..<b {
            let d = Int(u[i]) - 48
            guard (0...9).contains(d) else { return nil }
            v = v * 10 + d
        }
        return v
    }
    guard let y = num(0, 4), let mo = num(5, 7), let d = num(8, 10), let h = num(11, 13), let mi = num(14, 16),
          let se = num(17, 19) else { return nil }
    var t = tm()
    t.tm_year = Int32(y - 1900); t.tm_mon = Int32(mo - 1); t.tm_mday = Int32(d)
    t.tm_hour = Int32(h); t.tm_min = Int32(mi); t.tm_sec = Int32(se)
    var fraction = 0.0, scale = 0.1, i = 19
    if i < u.count, u[i] == UInt8(ascii: ".") {
        i += 1
        while i < u.count, let digit = Optional(Int(u[i]) - 48), (0...9).contains(digit) {
            fraction += Double(digit) * scale
            scale /= 10
            i += 1
        }
    }
    return Double(timegm(&t)) + fraction
}

extension NSLock {
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
