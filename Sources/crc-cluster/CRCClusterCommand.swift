import ArgumentParser
import CRCClient
import CRCCluster
import CRCCore
import CRCProtocol
import CRCServer
import Foundation

@main
struct CRCClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crc-cluster",
        abstract: "Launch a CRC network from a YAML topology, check how it converges, and run scenarios.",
        discussion: """
        Start here:   crc-cluster up topologies/tree.yaml
        Check files:  crc-cluster validate topologies/*.yaml
        Run tests:    crc-cluster test topologies/seed --junit results.xml
        Make a tree:  crc-cluster gen --servers 100 --clients 1000 --shape balanced > big.yaml

        Every node is its own process. crc-server and crc-client are taken from the folder of \
        crc-cluster when they are there (after `swift build`), otherwise crc-cluster runs them \
        itself; a node's `command:` in the topology overrides either. Each run writes \
        logs/<run-id>/<node>.log and logs/<run-id>/timeline.log; logs/latest is the newest run.
        """,
        version: crcVersion,
        subcommands: [Up.self, Test.self, Validate.self, Gen.self, Graph.self, ServerCLI.self, ClientCLI.self, ClientHostCommand.self])

    static func main() {
        dieWithParentIfAsked()  // when running as an embedded node of another crc-cluster
        main(nil)
    }
}

/// Where node executables come from.
func defaultCommands() -> (server: [String], client: [String]) {
    let me = selfPath()
    let dir = (me as NSString).deletingLastPathComponent
    let server = dir + "/crc-server", client = dir + "/crc-client"
    let fm = FileManager.default
    return (fm.isExecutableFile(atPath: server) ? [server] : [me, "crc-server"],
            fm.isExecutableFile(atPath: client) ? [client] : [me, "crc-client"])
}

func loadOrExit(_ path: String) throws -> Topology {
    do {
        return try TopologyLoader.load(path: path)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(2)
    }
}

struct CommonOptions: ParsableArguments {
    @Option(help: "Folder for run logs.") var logs = "logs"
    @Option(help: "Seconds the network may take to settle after a step.") var settleTimeout: Double = 5
    @Option(help: ArgumentHelp("Clients per process. 1 (the default) runs every client as its own crc-client; more shares processes, for thousands of clients.",
                                valueName: "n"))
    var clientsPerProcess = 1
    @Option(help: ArgumentHelp("What servers print to the terminal (their log files always get everything). By default info, or warning for networks of more than \(CommonOptions.chattyNetwork) nodes, whose servers log a line for every host that joins.",
                               valueName: "level"))
    var serverOutput: LogLevel?

    /// Above this many nodes, servers only print warnings unless asked: every join is a line at
    /// every server, N² lines that nobody can read and that cost the run time.
    static let chattyNetwork = 100

    func validate() throws {
        guard clientsPerProcess >= 1 else { throw ValidationError("--clients-per-process must be at least 1") }
        guard settleTimeout > 0 else { throw ValidationError("--settle-timeout must be positive") }
    }

    /// The level servers print at, for a network of `nodes` nodes.
    func serverOutputLevel(nodes: Int) -> String {
        serverOutput?.rawValue ?? (nodes > Self.chattyNetwork ? "warning" : "info")
    }

    func runOptions(nodes: Int) -> RunOptions {
        let commands = defaultCommands()
        var options = RunOptions(serverCommand: commands.server, clientCommand: commands.client, logRoot: URL(fileURLWithPath: logs))
        options.settleTimeout = settleTimeout
        options.clientsPerProcess = clientsPerProcess
        options.serverStderrLevel = serverOutputLevel(nodes: nodes)
        options.hostCommand = [selfPath(), "crc-client-host"]
        return options
    }
}

func selfPath() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// Hidden: runs many clients in one process (see `ClientHost`). crc-cluster starts it.
struct ClientHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crc-client-host", shouldDisplay: false)

    @Option(help: "JSON array of clients: id, name, info, server_host, server_port, log_file.") var spec: String

    struct Spec: Decodable {
        var id: UInt32
        var name: String
        var info: String
        var serverHost: String
        var serverPort: Int
        var logFile: String?
    }

    func run() throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let specs = try decoder.decode([Spec].self, from: Data(contentsOf: URL(fileURLWithPath: spec)))
        let configs = specs.map {
            var c = ClientConfiguration(id: $0.id, username: $0.name, info: $0.info, serverHost: $0.serverHost,
                                        serverPort: $0.serverPort, logFile: $0.logFile, json: true)
            c.hostedName = $0.name
            return c
        }
        let code = ClientHost.run(configs)
        if code != 0 { throw ExitCode(code) }
    }
}

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

// MARK: - test

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run scenario files and folders; independent scenarios run in parallel.",
        discussion: """
        After launch, after every step, and at the end, each scenario's network must converge to \
        what its topology implies (every server's hosts, first links, neighbours and status log; \
        every client's users, status log and chat log; the path of every chat, hop by hop, in the \
        servers' logs), plus any hand-written expectations, within the settle timeout.

        STEPS: start/stop/kill/restart NODE; chat {from, to, text}; quit {client, text}; settle; \
        and link faults, naming a link by the server below it: cut SERVER, delay {link: SERVER, \
        ms: N}, heal SERVER (crc-cluster routes that link through a relay of its own to do it). \
        Any step may add `within: SECONDS` to tighten the settle deadline after it. Servers rejoin \
        a lost upstream by themselves, so a restarted server gets its subtree back.

        Ctrl-C (or SIGTERM/SIGHUP) stops the run: scenarios running at that moment fail as \
        "interrupted", their networks are torn down as usual (logs and timeline kept), scenarios \
        not yet started are skipped, and the results so far are printed.

        EXIT STATUS: 0 when every scenario passes; 1 when any fails; 2 when a file is invalid; \
        130 when interrupted.
        """)

    @Argument(help: "Scenario files or folders of them.") var paths: [String]
    @OptionGroup var common: CommonOptions
    @Option(help: "Write JUnit XML results to this file.") var junit: String?
    @Option(help: "Scenarios run at once.") var jobs = 4
    @Flag(name: .shortAndLong, help: "Print each launch and step as it happens, with times.") var verbose = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let files: [String]
        do { files = try ScenarioRunner.expand(paths) } catch {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // An invalid file is reported (and fails the run with status 2) but does not stop the
        // valid scenarios from running; JUnit lists it as an error.
        var topologies: [Topology] = []
        var invalidResults: [ScenarioResult] = []
        for f in files {
            do { topologies.append(try TopologyLoader.load(path: f)) } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                invalidResults.append(ScenarioResult(name: URL(fileURLWithPath: f).deletingPathExtension().lastPathComponent, file: f,
                                                     passed: false, seconds: 0, error: "\(error)", outcome: .invalid))
            }
        }
        if !invalidResults.isEmpty {
            FileHandle.standardError.write(Data("crc-cluster: \(invalidResults.count) invalid file(s) will not run; running the other \(topologies.count)\n".utf8))
        }
        if let junit { try checkWritable(junit) }

        var options = common.runOptions(nodes: 0)
        let console = Console(color: nil, prefix: false)
        let results = ResultsBox(count: topologies.count)
        let t0 = Date()
        if verbose {
            options.onProgress = { message in
                console.plain(String(format: "%7.3f  ", Date().timeIntervalSince(t0)) + message)
            }
        }
        let interrupted = SignalCounter()
        options.interrupted = { interrupted.count > 0 }
        let sources = installSignalHandlers({ n in
            if n == 1 { console.plain("interrupted: stopping the running scenarios (their logs are kept)") }
        }, counter: interrupted)
        ChildReaper.becomeSubreaper()
        defer { sources.forEach { $0.cancel() } }
        let queue = DispatchQueue(label: "crc-cluster.test", attributes: .concurrent)
        let slots = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        for (i, t) in topologies.enumerated() {
            slots.wait()
            if interrupted.count > 0 {
                slots.signal()
                break
            }
            group.enter()
            var scenarioOptions = options
            scenarioOptions.serverStderrLevel = common.serverOutputLevel(nodes: t.servers.count + t.clients.count)
            let opts = scenarioOptions
            let thread = Thread {
                let r = ScenarioRunner.run(t, options: opts)
                results.set(i, r)
                console.plain(Self.line(r, color: console.color))
                slots.signal()
                group.leave()
            }
            thread.stackSize = 1 << 20
            _ = queue
            thread.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(t0)
        let ran = results.all
        let failed = ran.filter { !$0.passed }
        console.plain("")
        let notRun = topologies.count - ran.count
        var summary = "\(ran.count - failed.count) passed, \(failed.count) failed"
        if notRun > 0 { summary += ", \(notRun) not run" }
        if !invalidResults.isEmpty { summary += ", \(invalidResults.count) invalid" }
        console.plain(summary + " (\(String(format: "%.2f", elapsed)) s)")
        if let junit {
            let skipped = topologies.indices.filter { !results.has($0) }.map {
                ScenarioResult(name: topologies[$0].displayName, file: topologies[$0].file, passed: false, seconds: 0, outcome: .skipped)
            }
            try ScenarioRunner.junit(ran + skipped + invalidResults, seconds: elapsed).write(toFile: junit, atomically: true, encoding: .utf8)
        }
        if interrupted.count > 0 { throw ExitCode(130) }
        if !invalidResults.isEmpty { throw ExitCode(2) }
        if !failed.isEmpty { throw ExitCode(1) }
    }

    /// Fails early, with a plain message, when the JUnit file cannot be written.
    func checkWritable(_ path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        if !dir.isEmpty, !(FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue) {
            FileHandle.standardError.write(Data("crc-cluster: cannot write --junit \(path): the folder \(dir) does not exist\n".utf8))
            throw ExitCode(2)
        }
    }

    static func line(_ r: ScenarioResult, color: Bool) -> String {
        let tag = r.passed ? (color ? "\u{1B}[32mPASS\u{1B}[0m" : "PASS") : (color ? "\u{1B}[31mFAIL\u{1B}[0m" : "FAIL")
        var out = "\(tag) \(r.name) (\(String(format: "%.2f", r.seconds)) s)"
        if !r.passed {
            if let e = r.error { out += "\n  " + e.replacingOccurrences(of: "\n", with: "\n  ") }
            if let at = r.failedAt { out += "\n  differences \(at):" }
            for d in r.differences.prefix(30) { out += "\n    " + d.description.replacingOccurrences(of: "\n", with: "\n    ") }
            out += "\n  logs: \(r.logDir)"
        }
        return out
    }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [ScenarioResult?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: ScenarioResult) { lock.lock(); results[i] = r; lock.unlock() }
    var all: [ScenarioResult] { lock.lock(); defer { lock.unlock() }; return results.compactMap { $0 } }
    func has(_ i: Int) -> Bool { lock.lock(); defer { lock.unlock() }; return results[i] != nil }
}

// MARK: - validate

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check topology files without launching anything.",
        discussion: "Reports every problem with file:line:column. EXIT STATUS: 0 when all files are valid, 2 otherwise.")

    @Argument(help: "Topology or scenario files, or folders of them (as `test` takes).") var paths: [String]

    func run() throws {
        var bad = false
        let files: [String]
        do { files = try ScenarioRunner.expand(paths) } catch {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(2)
        }
        for f in files {
            do {
                let t = try TopologyLoader.load(path: f)
                print("\(f): ok (\(t.servers.count) servers, \(t.clients.count) clients, \(t.steps.count) steps)")
            } catch {
                bad = true
                FileHandle.standardError.write(Data("\(error)\n".utf8))
            }
        }
        if bad { throw ExitCode(2) }
    }
}

// MARK: - gen

struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a generated topology (YAML) of the given size and shape.")

    @Option(help: "Number of servers.") var servers: Int
    @Option(help: "Number of clients, spread over the servers.") var clients = 0
    @Option(help: "The tree's shape.") var shape: Shape = .balanced
    @Option(help: "Seed for --shape random.") var seed: UInt64 = 1

    func validate() throws {
        guard servers >= 1 else { throw ValidationError("--servers must be at least 1") }
        guard servers + clients < Int(UInt32.max) / 2 else { throw ValidationError("--servers plus --clients must stay well below 2^32 (ids are 32-bit)") }
        guard clients >= 0 else { throw ValidationError("--clients must not be negative") }
    }

    func run() throws {
        print(TopologyGenerator.yaml(servers: servers, clients: clients, shape: shape, seed: seed), terminator: "")
    }
}

extension Shape: ExpressibleByArgument {}

// MARK: - graph

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a topology's server tree with its clients: Graphviz DOT, Mermaid, or SVG.",
        discussion: """
        dot and mermaid are text (paste Mermaid into Markdown; DOT into Graphviz). svg runs \
        Graphviz's `dot` (Debian: apt-get install graphviz) on the DOT source. Servers are boxes \
        and clients ellipses, each with its name and id; nodes refused on purpose are dashed and \
        red, nodes a step starts later are grey.

        Examples:
          crc-cluster graph topologies/tree.yaml --format svg --output tree.svg
          crc-cluster graph topologies/tree.yaml --format mermaid >> README.md
        """)

    @Argument(help: "Topology file (YAML).") var file: String
    @Option(help: "Output format.") var format: TopologyGraph.Format = .dot
    @Option(help: "Write here instead of standard output.") var output: String?

    func run() throws {
        let topology = try loadOrExit(file)
        let text: String
        switch format {
        case .dot: text = TopologyGraph.dot(topology)
        case .mermaid: text = TopologyGraph.mermaid(topology)
        case .svg: text = try Self.svg(TopologyGraph.dot(topology))
        }
        if let output {
            do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                FileHandle.standardError.write(Data("crc-cluster: cannot write \(output): \(describeFileError(error))\n".utf8))
                throw ExitCode(1)
            }
        } else {
            print(text, terminator: "")
        }
    }

    /// Runs Graphviz's dot on the source.
    static func svg(_ dot: String) throws -> String {
        let path = ["/usr/bin/dot", "/usr/local/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            FileHandle.standardError.write(Data("crc-cluster: --format svg needs Graphviz's dot (apt-get install graphviz); --format dot prints the source\n".utf8))
            throw ExitCode(1)
        }
        let p = NodeProcess(name: "dot", executable: path, arguments: ["-Tsvg"])
        try p.start()
        p.send(line: dot)
        p.closeStdin()
        guard let status = p.waitForExit(timeout: 30), status == .exited(0) else {
            FileHandle.standardError.write(Data("crc-cluster: Graphviz failed: \(p.stderrLines.joined(separator: " "))\n".utf8))
            throw ExitCode(1)
        }
        _ = p.waitForLine(timeout: 5) { _ in false }  // until its output ends
        return p.stdoutLines.joined(separator: "\n") + "\n"
    }
}

extension TopologyGraph.Format: ExpressibleByArgument {}
