import CRCCore
import CSystemShims
import Foundation
import NIOPosix
import CRCProcess
import CRCContract

/// Launching a network: servers wave by wave once their upstream is ready, then clients; other
/// implementations with the seed's options; relays on the links that are cut, delayed or tapped.
extension ClusterRun {
    // MARK: Launching

    /// " (it ended with exit 1)" and its last output, for a server that has ended.
    func endedNote(_ server: String) -> String {
        guard let p = servers[server]?.process, let status = p.exitStatus else { return "" }
        return " (it ended with \(status))\n\(tail(of: p))"
    }


    /// Starts another implementation's server on `port`, given the seed's options or its template.
    func launchForeign(_ name: String, port: Int) throws -> NodeProcess {
        let spec = topology.server(named: name)!
        let upstreamPort = spec.upstream == nil ? nil : try upstreamPort(of: spec)
        let values: [String: String?] = ["id": "\(spec.id)", "name": spec.name, "port": "\(port)", "info": spec.info ?? "",
                                         "upstream_host": spec.upstream == nil ? nil : "127.0.0.1",
                                         "upstream_port": upstreamPort.map { "\($0)" }, "log_file": logFile(name).path]
        let template = spec.args ?? topology.serverArgs ?? ArgumentTemplate.seedServer
        let args = try ArgumentTemplate.expand(template, values: values, known: ArgumentTemplate.serverPlaceholders)
        guard case .other(let command) = spec.program else { throw ClusterError("server '\(name)' is not another program") }
        let p = makeProcess(name, command: command, arguments: args)
        try p.start()
        record(name, p)
        return p
    }

    /// A port for another implementation's server, which must be told it (`PortOwnership.pick`).
    static func unlikelyFreePort() throws -> Int { try PortOwnership.pick() }

    func record(_ name: String, _ p: NodeProcess) {
        nodes.record(name, p)
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
        for p in nodes.all where p.isRunning {
            p.signal(SIGKILL)
            p.signalGroup(SIGKILL)
        }
    }

    /// How a client of this run is started, driven and observed: chosen once, from its spec.
    func clientDriver(for spec: ClientSpec) -> ClientDriver {
        switch spec.program {
        case .ours: return .ours(command: options.clientCommand)
        case .other(let command):
            return .other(command: command, chat: options.foreignChat, quit: options.foreignQuit, classHosted: options.classHostedClients)
        }
    }

    /// The environment of every process of this run: tagged with the run's id, so that whatever a
    /// node starts (and leaves behind) is found and stopped at teardown.
    var nodeEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env[ChildReaper.runTagVariable] = runID
        return env
    }

    func makeProcess(_ name: String, command: [String], arguments: [String]) -> NodeProcess {
        let ours = command == options.serverCommand || command == options.clientCommand
        // Another implementation runs sandboxed (when asked), in a working folder of its own.
        let limits = ours ? nil : sandbox
        var folder: URL?
        if let limits {
            let work = runDir.appendingPathComponent("work/\(name)")
            try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            if let uid = limits.uid {
                chown(work.deletingLastPathComponent().path, uid, uid)
                chown(work.path, uid, uid)
            }
            folder = work
        }
        let p = NodeProcess(name: name, executable: command[0], arguments: Array(command.dropFirst()) + arguments,
                            workingDirectory: folder, environment: nodeEnvironment,
                            parentDeath: ours && options.nodesArmParentDeath ? .selfArmed : .setpriv, sandbox: limits)
        let sink = options.onOutput, gate = options.gate
        if sink != nil || gate != nil {
            p.onLine = { proc, stream, line in
                // A line on its way to the launcher may be what it waits for: under a gate, the
                // next decision waits until the launcher has had its chance to act on it.
                gate?.relayActivity()
                sink?(proc.name, stream, line)
            }
        }
        return p
    }

    /// Starts `names` (one wave: each one's upstream is ready), all at once, then waits for each;
    /// what to start and how to tell it is ready is each server's driver's.
    public func startServers(_ names: [String], expected: [NetworkModel.Status]) throws {
        var started: [(ServerSpec, any ServerDriver, StartedServer?)] = []
        for (name, status) in zip(names, expected) {
            let spec = topology.server(named: name)!
            let driver = serverDriver(for: spec)
            // A server that comes back takes its old port, where its downstream servers look for it.
            let port = spec.port ?? servers[name].flatMap { $0.port > 0 ? $0.port : nil } ?? 0
            options.gate?.awaitStart(name, settled: status == .refused)
            let s = try driver.start(spec, port: port, in: self)
            if let s { options.gate?.started(name, pid: s.process.pid) }
            started.append((spec, driver, s))
        }
        for ((spec, driver, s), expected) in zip(started, expected) {
            // The driver says how the run reaches it; the run alone records it (teardown stops every
            // process started, recorded or not). Under a gate, a server whose readiness waits on
            // its upstream's answer (or that should be refused) is awaited with messages moving;
            // another is ready without them, and what moves meanwhile is the gate's choice after.
            let refused = expected == .refused
            let wait = { try driver.awaitReady(spec, s, refused: refused, in: self) }
            let node = driver.readinessNeedsMessages || refused ? try waitingOnNetwork(wait) : try wait()
            if let node { nodes.set(server: spec.name, node) }
        }
    }

    /// The port a server dials for its upstream (the upstream, or the relay on that link).
    func upstreamPort(of spec: ServerSpec) throws -> Int {
        guard let up = spec.upstream else { throw ClusterError("server '\(spec.name)' has no upstream") }
        guard let upNode = servers[up], upNode.process.isRunning else {
            throw ClusterError("cannot start server '\(spec.name)': its upstream '\(up)' is not running\(endedNote(up))")
        }
        return try relayPort(for: spec.name, upstreamPort: upNode.port)
    }

    /// The port a node dials for its server: the server itself, or the relay crc-cluster puts on
    /// that link when a step cuts, delays or heals it, or when links are tapped.
    func relayPort(for server: String, upstreamPort: Int, upstreamHost: String = "127.0.0.1") throws -> Int {
        try faults.port(for: server, upstreamHost: upstreamHost, upstreamPort: upstreamPort)
    }

    public func startClients(_ names: [String], expected: [NetworkModel.Status]) throws {
        let expectation = Dictionary(zip(names, expected), uniquingKeysWith: { a, _ in a })
        var names = names
        if options.attach {
            // Clients that run elsewhere are only counted in: the servers' tables must list them.
            for n in names where topology.client(named: n)?.external == true {
                options.onProgress?("client \(n) runs elsewhere: expected in the servers' tables")
            }
            names.removeAll { topology.client(named: $0)?.external == true }
            if names.isEmpty { return }
        }
        if options.clientsPerProcess > 1, names.count > 1 { return try startHostedClients(names, expected: expectation) }
        var started: [(String, ClientEndpoint)] = []
        for name in names {
            let spec = topology.client(named: name)!
            guard let server = servers[spec.server], server.process.isRunning else {
                throw ClusterError("cannot start client '\(name)': its server '\(spec.server)' is not running\(endedNote(spec.server))")
            }
            let serverPort = try relayPort(for: name, upstreamPort: server.port, upstreamHost: server.host)
            // Tapped, the client dials crc-cluster's relay here; untapped, the server itself.
            let serverHost = faults.isRelayed(name) ? "127.0.0.1" : server.host
            let driver = clientDriver(for: spec)
            let values: [String: String?] = ["id": "\(spec.id)", "name": spec.name, "info": spec.info ?? "", "server_host": serverHost,
                                             "server_port": "\(serverPort)", "log_file": logFile(name).path]
            let args = try ArgumentTemplate.expand(driver.arguments(spec.args ?? topology.clientArgs), values: values,
                                                   known: ArgumentTemplate.clientPlaceholders)
            let p = makeProcess(name, command: driver.command, arguments: args)
            options.gate?.awaitStart(name, settled: expectation[name] == .refused)
            try p.start()
            options.gate?.started(name, pid: p.pid)
            record(name, p)
            let endpoint = ClientEndpoint(name: name, process: p, hosted: false, observer: driver.observer(p), driver: driver)
            nodes.set(client: name, endpoint)
            started.append((name, endpoint))
        }
        try waitingOnNetwork { try awaitRegistration(started, expected: expectation) }
    }

    /// Clients grouped into host processes of `clientsPerProcess` each.
    func startHostedClients(_ names: [String], expected: [String: NetworkModel.Status]) throws {
        var started: [(String, ClientEndpoint)] = []
        var index = nodes.hosts.count
        for chunk in stride(from: 0, to: names.count, by: options.clientsPerProcess).map({ Array(names[$0..<min($0 + options.clientsPerProcess, names.count)]) }) {
            var specs: [HostedClientSpec] = []
            for name in chunk {
                let spec = topology.client(named: name)!
                guard let server = servers[spec.server], server.process.isRunning else {
                    throw ClusterError("cannot start client '\(name)': its server '\(spec.server)' is not running\(endedNote(spec.server))")
                }
                specs.append(HostedClientSpec(id: spec.id, name: spec.name, info: spec.info ?? "",
                                              serverHost: faults.isRelayed(name) ? "127.0.0.1" : server.host,
                                              serverPort: try relayPort(for: name, upstreamPort: server.port, upstreamHost: server.host),
                                              logFile: logFile(name).path))
            }
            index += 1
            let hostName = "clients-\(index)"
            let specFile = runDir.appendingPathComponent("\(hostName).json")
            try JSONEncoder().encode(specs).write(to: specFile)
            let p = NodeProcess(name: hostName, executable: options.hostCommand[0],
                                arguments: Array(options.hostCommand.dropFirst()) + ["--spec", specFile.path],
                                environment: nodeEnvironment, parentDeath: options.nodesArmParentDeath ? .selfArmed : .setpriv)
            if let sink = options.onOutput { p.onLine = { proc, stream, line in sink(proc.name, stream, line) } }
            try p.start()
            nodes.recordHost(p, clients: chunk)
            for name in chunk {
                let endpoint = ClientEndpoint(name: name, process: p, hosted: true, observer: DigestObserver(), driver: .hosted)
                nodes.set(client: name, endpoint)
                started.append((name, endpoint))
            }
        }
        try awaitRegistration(started, expected: expected)
    }

    func awaitRegistration(_ started: [(String, ClientEndpoint)], expected expectation: [String: NetworkModel.Status]) throws {
        for (name, p) in started {
            let expected = expectation[name] ?? .live
            if !p.driver.reportsEvents {
                try awaitForeignClient(name, p, refused: expected == .refused)
                continue
            }
            let event: NodeEvent.Kind = expected == .refused ? .refused : .registered
            guard p.waitForEvent(event, timeout: options.settleTimeout) != nil else {
                let why = p.waitForExit(timeout: 1).map { "it ended with \($0)" } ?? "no '\(event.rawValue)' event within \(options.settleTimeout) s"
                throw ClusterError("client '\(name)' was expected to be \(expected == .refused ? "refused" : "welcomed"): \(why)\n\(tail(of: p.process, node: name))")
            }
            options.onProgress?("client \(name) \(expected == .refused ? "refused, as expected" : "registered") (pid \(p.pid))")
        }
    }

}
