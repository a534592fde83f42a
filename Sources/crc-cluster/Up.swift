import ArgumentParser
import CRCClient
import CRCCluster
import CRCCore
import CRCProtocol
import CRCServer
import Foundation

// MARK: - up

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start every server and client of a topology and stream their output until Ctrl-C.",
        discussion: """
        Servers start once their upstream listens, clients once their server does; readiness is \
        reported by each process, never assumed. When the network has converged to what the \
        topology implies, a summary (tree, pids, ports, log files) is printed and every node's \
        output is streamed, prefixed with its name.

        Ctrl-C (or SIGTERM/SIGHUP) stops the nodes gracefully in reverse order (clients, leaf \
        servers, root); a second Ctrl-C kills them at once. No node outlives crc-cluster, even if \
        it is killed with SIGKILL.

        EXIT STATUS: 0 stopped by request; 1 a node failed to start, crashed, or the network did \
        not converge; 2 the topology file is invalid.
        """)

    @Argument(help: "Topology file (YAML).") var file: String
    @OptionGroup var common: CommonOptions
    @Flag(help: "No colours (also when NO_COLOR is set or output is not a terminal).") var noColor = false
    @Flag(help: "Do not prefix lines with the node's name.") var noPrefix = false
    @Flag(help: "Stop as soon as the network has settled; print launch-to-settled time and memory (a benchmark).")
    var exitWhenSettled = false

    func run() throws {
        let topology = try loadOrExit(file)
        let console = Console(color: noColor ? false : nil, prefix: !noPrefix)
        console.register(topology.servers.map(\.name) + topology.clients.map(\.name))
        let nodes = topology.servers.count + topology.clients.count
        var options = common.runOptions(nodes: nodes)
        let quiet = exitWhenSettled
        options.onOutput = { node, stream, line in
            if !quiet { console.line(node, line, stream: stream) }
        }
        let started = Date()
        options.onPhase = { phase in
            console.say(String(format: "%.2f s: ", Date().timeIntervalSince(started)) + phase)
        }
        let run: ClusterRun
        do { run = try ClusterRun(topology: topology, options: options, runID: ClusterRun.makeRunID(topology.displayName)) } catch {
            console.error("crc-cluster: \(error)")
            throw ExitCode(1)
        }

        // Signals: the first asks for a graceful stop, the second forces it. A second signal within
        // a second of the first is the same request arriving twice (`timeout -s INT` signals the
        // child, then its group; a terminal's Ctrl-C reaches a whole pipeline), not a second press.
        let stopRequested = DispatchSemaphore(value: 0)
        let signals = SignalCounter()
        let sources = installSignalHandlers({ n in
            if n == 1 {
                console.say("stopping gracefully (press Ctrl-C again to force)")
                stopRequested.signal()
            } else {
                console.say("forcing: killing every node")
                run.killAll()
            }
        }, counter: signals)
        ChildReaper.becomeSubreaper()

        let t0 = Date()
        var failed = false
        do {
            console.say("starting \(topology.servers.count) servers and \(topology.clients.count) clients from \(file); logs in \(run.runDir.path)")
            if common.serverOutput == nil, options.serverStderrLevel != "info" {
                console.say("\(nodes) nodes: servers print warnings only (--server-output info prints every event; the logs have them all)")
            }
            try run.launchAll()
            options.onPhase?("checking that every node converged")
            let diffs = run.check()
            if !diffs.isEmpty {
                failed = true
                console.error("crc-cluster: the network did not converge within \(common.settleTimeout) s:")
                for d in diffs.prefix(20) { console.error("  \(d)") }
            }
        } catch {
            failed = true
            console.error("crc-cluster: \(error)")
        }
        let settled = Date().timeIntervalSince(t0)

        if !failed {
            printSummary(run, console: console, settled: settled)
            if exitWhenSettled {
                let pids = Array(Set(run.launchOrder.compactMap { (run.servers[$0]?.process ?? run.clients[$0]?.process)?.pid }))
                let rss = pids.map(residentKiB).reduce(0, +)
                let pss = pids.map(proportionalKiB).reduce(0, +)
                console.plain(String(format: "settled: %d servers, %d clients in %.2f s; resident memory %.1f MiB in all (RSS), %.1f MiB proportional (PSS)",
                                     topology.servers.count, topology.clients.count, settled, Double(rss) / 1024, Double(pss) / 1024))
            } else {
                console.say("network settled in \(String(format: "%.2f", settled)) s; streaming output, Ctrl-C to stop")
                // Until asked to stop, say at once when a node dies on its own.
                var reported = Set<String>()
                while stopRequested.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                    for (node, status) in run.unexpectedExits() where !reported.contains(node) {
                        reported.insert(node)
                        failed = true
                        console.error("crc-cluster: \(node) exited unexpectedly (\(status)); the network no longer matches the topology (exit status will be 1)")
                    }
                }
            }
        }

        let forced = signals.count > 1
        let records = run.teardown(grace: 3, force: forced)
        if run.leftoversKilled > 0 {
            console.say("killed \(run.leftoversKilled) process(es) that nodes had started and left running")
        }
        console.plain("")
        console.plain("NODE                 PID      EXIT")
        for r in records {
            console.plain(r.node.padding(toLength: 20, withPad: " ", startingAt: 0) + " " + String(r.pid).padding(toLength: 8, withPad: " ", startingAt: 0) + " " + r.status)
        }
        console.plain("logs: \(run.runDir.path) (timeline: \(run.runDir.path)/timeline.log)")
        sources.forEach { $0.cancel() }
        if failed { throw ExitCode(1) }
    }

    func printSummary(_ run: ClusterRun, console: Console, settled: Double) {
        let t = run.topology
        console.plain("")
        console.plain("CRC network '\(t.displayName)': \(t.servers.count) servers, \(t.clients.count) clients, settled in \(String(format: "%.2f", settled)) s")
        func describe(_ name: String) -> String {
            guard let s = run.servers[name] else { return name }
            let spec = t.server(named: name)!
            return "\(name) (id \(spec.id), port \(s.port), pid \(s.process.pid), monitor \(s.monitorPort.map(String.init) ?? "-"))"
        }
        func walk(_ name: String, _ indent: String, _ last: Bool, _ root: Bool) {
            console.plain(indent + (root ? "" : (last ? "└─ " : "├─ ")) + describe(name))
            let childIndent = indent + (root ? "" : (last ? "   " : "│  "))
            let clients = t.clients.filter { $0.server == name && run.model.isLive($0.name) }
            for c in clients {
                let pid = run.clients[c.name]?.pid ?? 0
                console.plain(childIndent + "· client \(c.name) (id \(c.id), pid \(pid))")
            }
            let children = t.servers.filter { $0.upstream == name && run.model.isLive($0.name) }
            for (i, c) in children.enumerated() { walk(c.name, childIndent, i == children.count - 1, false) }
        }
        for root in t.servers where root.upstream == nil && run.model.isLive(root.name) { walk(root.name, "", true, true) }
        console.plain("logs: \(run.runDir.path)/<node>.log")
        console.plain("")
    }
}

/// Counts stop requests (SIGINT, SIGTERM, SIGHUP). A signal within `debounce` seconds of the
/// previous counted one is the same request delivered twice and is not counted.
final class SignalCounter: @unchecked Sendable {  // `n` and `last` are guarded by `lock`
    private let lock = NSLock()
    private var n = 0
    private var last: Date?
    let debounce: TimeInterval
    init(debounce: TimeInterval = 1) { self.debounce = debounce }
    /// The count after this signal, or nil when it was a repeat of the previous one.
    func increment(at now: Date = Date()) -> Int? {
        lock.lock(); defer { lock.unlock() }
        if let last, now.timeIntervalSince(last) < debounce { return nil }
        last = now
        n += 1
        return n
    }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// Ignores SIGINT, SIGTERM and SIGHUP as signals and calls `handler` with the request count for
/// each one counted (see `SignalCounter`). Keep the returned sources alive.
func installSignalHandlers(_ handler: @escaping @Sendable (Int) -> Void, counter: SignalCounter) -> [DispatchSourceSignal] {
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal(sig, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        s.setEventHandler {
            if let n = counter.increment() { handler(n) }
        }
        s.resume()
        sources.append(s)
    }
    return sources
}

func residentKiB(_ pid: Int32) -> Int { procField(pid, file: "status", key: "VmRSS:") }
func proportionalKiB(_ pid: Int32) -> Int { procField(pid, file: "smaps_rollup", key: "Pss:") }
func procField(_ pid: Int32, file: String, key: String) -> Int {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}
