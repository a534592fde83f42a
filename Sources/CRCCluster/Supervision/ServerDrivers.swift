import CRCProcess
import CRCContract
import Foundation

/// How one server of a run is started and awaited. Chosen once per server, from its spec and the
/// run's options (`ClusterRun.serverDriver(for:)`, the only place that looks at what runs a node);
/// each driver also decides how the server will be observed (`ServerObserver`). A new kind of
/// server is one new driver.
protocol ServerDriver {
    /// Starts the server (on `port`, 0 for one of its choosing where it can say which); nil when
    /// there is nothing to start (it runs elsewhere).
    func start(_ spec: ServerSpec, port: Int, in run: ClusterRun) throws -> StartedServer?
    /// Waits until it serves — or, when `refused`, until it is refused as the model expects — and
    /// says how the run reaches and observes it (nil: nothing was started).
    func awaitReady(_ spec: ServerSpec, _ started: StartedServer?, refused: Bool, in run: ClusterRun) throws -> ClusterRun.ServerNode?
    /// Its readiness waits on messages on its link (crc-server is ready once its upstream has
    /// answered): under a gate, messages must move while the launcher waits for it.
    var readinessNeedsMessages: Bool { get }
}

extension ServerDriver {
    var readinessNeedsMessages: Bool { false }
}

/// A server process that has been started and is not known to serve yet.
struct StartedServer {
    let process: NodeProcess
    let port: Int
    /// crc-cluster picked the port (another program must be told one): it may pick again if it was taken.
    let portChosen: Bool
}

extension ClusterRun {
    func serverDriver(for spec: ServerSpec) -> any ServerDriver {
        if options.attach { return AttachedServerDriver() }
        switch spec.program {
        case .ours: return OurServerDriver(compat: topology.hasForeignServers)
        case .other: return ProgramServerDriver()
        }
    }
}

/// crc-server: told everything by its options, it says when it is ready (and where its /state is).
struct OurServerDriver: ServerDriver {
    /// Beside another implementation, ours never send the server quit course-style parsers cannot read.
    let compat: Bool
    var readinessNeedsMessages: Bool { true }

    func start(_ spec: ServerSpec, port: Int, in run: ClusterRun) throws -> StartedServer? {
        let name = spec.name
        var args = ["--id", "\(spec.id)", "--servername", spec.name, "--port", "\(port)",
                    "--info", spec.info ?? "", "--log-file", run.logFile(name).path,
                    "--monitor-port", "0", "--log-level", "debug", "--stderr-level", run.options.serverStderrLevel]
        if compat { args += ["--compat", "course"] }
        if spec.upstream != nil {
            let upPort = try run.upstreamPort(of: spec)
            guard !run.model.cutLinks.contains(name) else {
                throw ClusterError("cannot start server '\(name)' while its upstream link is cut: heal it first")
            }
            args += ["--connect_to_host", "127.0.0.1", "--connect_to_port", "\(upPort)"]
        }
        let p = run.makeProcess(name, command: run.options.serverCommand, arguments: args)
        try p.start()
        run.record(name, p)
        return StartedServer(process: p, port: port, portChosen: false)
    }

    func awaitReady(_ spec: ServerSpec, _ started: StartedServer?, refused: Bool, in run: ClusterRun) throws -> ClusterRun.ServerNode? {
        guard let p = started?.process else { return nil }
        let name = spec.name, timeout = run.options.settleTimeout
        if refused {
            guard let status = p.waitForExit(timeout: timeout) else {
                throw ClusterError("server '\(name)' reuses an id and should have been refused, but it is still running")
            }
            guard status == .exited(2) else {
                throw ClusterError("server '\(name)' should have been refused (exit 2), but ended with \(status)\n\(run.tail(of: p))")
            }
            return ClusterRun.ServerNode(process: p, port: 0, monitorPort: nil, logFile: run.logFile(name),
                                         observer: UnobservableServer(reason: "it was refused"))
        }
        guard let event = p.waitForEvent(.ready, timeout: timeout), let ready = event.decode(ReadyLine.self) else {
            // Its output ended or the deadline passed: if it is exiting, say how it ended.
            let why = p.waitForExit(timeout: 1).map { "it ended with \($0)" } ?? "it did not report ready within \(timeout) s"
            throw ClusterError("server '\(name)' never became ready: \(why)\n\(run.tail(of: p))")
        }
        let observer: any ServerObserver = ready.monitorPort.map { MonitorObserver(host: "127.0.0.1", port: $0) }
            ?? (run.wire != nil ? WireServerObserver() as any ServerObserver
                : UnobservableServer(reason: "this server has no /state endpoint (its ready line gave no monitor_port), so its hosts, links and status log cannot be read; tap its links (--tap) to check it from the wire"))
        run.options.onProgress?("server \(name) ready on port \(ready.port) (pid \(p.pid))")
        return ClusterRun.ServerNode(process: p, port: ready.port, monitorPort: ready.monitorPort, logFile: run.logFile(name), observer: observer)
    }
}

/// Another program's server (`command:`): the seed's options or its template, a port chosen here,
/// ready when its port accepts, observed from the wire (or, for a course class, its attributes).
struct ProgramServerDriver: ServerDriver {
    func start(_ spec: ServerSpec, port: Int, in run: ClusterRun) throws -> StartedServer? {
        let chosen = port == 0
        let port = chosen ? try ClusterRun.unlikelyFreePort() : port
        return StartedServer(process: try run.launchForeign(spec.name, port: port), port: port, portChosen: chosen)
    }

    func awaitReady(_ spec: ServerSpec, _ started: StartedServer?, refused: Bool, in run: ClusterRun) throws -> ClusterRun.ServerNode? {
        guard let started else { return nil }
        return try run.awaitForeignServer(spec.name, started.process, port: started.port, refused: refused, portChosen: started.portChosen)
    }
}

/// A server that runs elsewhere (`--attach`): reached at its host and port, observed through its
/// /state when it has a monitor, else through its clients.
struct AttachedServerDriver: ServerDriver {
    func start(_ spec: ServerSpec, port: Int, in run: ClusterRun) throws -> StartedServer? { nil }
    func awaitReady(_ spec: ServerSpec, _ started: StartedServer?, refused: Bool, in run: ClusterRun) throws -> ClusterRun.ServerNode? {
        try run.attach(spec)
    }
}
