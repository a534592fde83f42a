import NIOConcurrencyHelpers
import ArgumentParser
import CRCClient
import CRCCluster
import CRCLineEditor
import CRCCore
import CRCProtocol
import CRCServer
import Foundation
import CRCProcess
import CRCContract
import CRCLive

// MARK: - up

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start every server and client of a topology, show what happens, and take commands.",
        discussion: """
        Servers start once their upstream listens, clients once their server does; readiness is \
        reported by each process, never assumed. When the network has converged to what the \
        topology implies, the tree is printed, and then what happens is shown: nodes joining and \
        leaving, chats as [bilbo → aragorn] Hello, statuses, faults, convergence (--output json \
        for machines, raw for every line every node prints; --only to choose).

        CONSOLE. When stdin is a terminal (line editing and history through libedit) or a pipe, \
        up reads commands once the network has settled: tree, nodes, state NODE, chat FROM TO \
        TEXT (prints the path the chat took, hop by hop, with timings), path FROM TO, quit CLIENT \
        [TEXT], stop|kill|start|restart NODE, cut|heal SERVER, delay SERVER MS, watch on|off, \
        help, exit. Every command that changes the network waits until it has converged again \
        and says how long that took and what each part of the tree now knows. From a pipe: \
          printf 'chat frodo aragorn hi\\nkill rivendale\\nexit\\n' | crc-cluster up topologies/tree.yaml
        At the end of a pipe without exit, up keeps running until Ctrl-C.

        --play runs the topology's steps one at a time, waiting for Enter before each (or \
        --pace SECONDS between them): topologies/demo.yaml walks a class through join, chat, \
        unknown id, quit, netsplit and rejoin.

        Links are tapped (every message recorded in logs/<run>/wire.jsonl; needed by chat's hops, \
        watch, cut/heal/delay and the report) unless --no-tap, or for networks of more than \
        \(Up.tapLimit) nodes unless --tap. At exit, logs/<run>/report.html shows the run.

        Ctrl-C (or SIGTERM/SIGHUP) stops the nodes gracefully in reverse order (clients, leaf \
        servers, root); a second Ctrl-C kills them at once. No node outlives crc-cluster, even if \
        it is killed with SIGKILL.

        LIVE VIEW. --web [PORT] serves a page of the running network (default port 8080; 0 picks a \
        free one): the tree, every message as a dot travelling along the link it crosses (real \
        time, slowed, or paused and stepped), the space-time diagram as it grows, each node's \
        state on click, and the console's commands as buttons and a command box. It listens on \
        loopback; --web-bind ADDRESS shares it with a room, where viewers are read-only unless \
        their address carries the presenter token printed at start. The page works offline. \
        Its "past runs" lists logs/ and replays any of them (as crc-cluster serve does).

        EXIT STATUS: 0 stopped by request (exit, Ctrl-C); 1 a node failed to start, crashed, or \
        the network did not converge; 2 the topology file is invalid.
        """)

    static let tapLimit = 200

    @Argument(help: "Topology file (YAML).") var file: String
    @OptionGroup var common: CommonOptions
    @Option(help: "What to show: human (the default), json (one object per node event), raw (every line of every node).")
    var output: OutputFormat = .human
    @Option(help: ArgumentHelp("Show only these kinds of events (comma-separated): \(Narration.Kind.allCases.map(\.rawValue).joined(separator: ",")).", valueName: "kinds"))
    var only: String?
    @Flag(help: "Read console commands from stdin even when it is neither a terminal nor a pipe.") var console = false
    @Flag(help: "Run the topology's steps one at a time, waiting for Enter before each.") var play = false
    @Option(help: ArgumentHelp("With --play: wait this many seconds between steps instead of for Enter.", valueName: "seconds"))
    var pace: Double?
    @Flag(help: "No colours (also when NO_COLOR is set or output is not a terminal).") var noColor = false
    @Flag(help: "Do not prefix raw lines with the node's name.") var noPrefix = false
    @Flag(help: ArgumentHelp("Serve the live view: the network in a browser, messages moving hop by hop (--web PORT, or --web-port; 8080 by default, 0 for any free port).", valueName: "port"))
    var web = false
    @Option(help: ArgumentHelp("The port of the live view (also written --web PORT).", valueName: "port")) var webPort = 8080
    @Option(help: ArgumentHelp("The address the live view listens on (implies --web): 127.0.0.1 by default; 0.0.0.0 for a room, read-only without the presenter token.", valueName: "address"))
    var webBind: String?
    @Flag(help: "Stop as soon as the network has settled; print launch-to-settled time and memory (a benchmark).")
    var exitWhenSettled = false

    func validate() throws {
        if let only {
            for k in only.split(separator: ",") where Narration.Kind(rawValue: String(k)) == nil {
                throw ValidationError("--only: unknown kind '\(k)' (kinds: \(Narration.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        if let pace, !(pace >= 0) { throw ValidationError("--pace must be a number of seconds, 0 or more") }
        if pace != nil, !play { throw ValidationError("--pace goes with --play") }
        if !(0...65535).contains(webPort) { throw ValidationError("--web: \(webPort) is not a port (0 picks a free one)") }
    }

    /// Whether stdin carries commands: a terminal, a pipe or a file (not /dev/null), or --console.
    var readsCommands: Bool {
        if console || isatty(0) == 1 { return true }
        var st = stat()
        guard fstat(0, &st) == 0 else { return false }
        let type = st.st_mode & S_IFMT
        return type == S_IFIFO || type == S_IFREG
    }

    func run() throws {
        let topology = try loadOrExit(file)
        let console = Console(color: noColor ? false : nil, prefix: !noPrefix)
        console.register(topology.servers.map(\.name) + topology.clients.map(\.name))
        let nodes = topology.servers.count + topology.clients.count
        var options = common.runOptions(nodes: nodes)
        options.tap = common.tap || (!common.noTap && nodes <= Self.tapLimit)
        let interactive = LineEditor.isInteractive && !exitWhenSettled
        let out = UpOutput(console: console, interactive: interactive)
        let quiet = exitWhenSettled
        let format = output
        let kinds = only.map { Set($0.split(separator: ",").compactMap { Narration.Kind(rawValue: String($0)) }) }
        let narrator = Narrator(topology: topology)
        options.onOutput = { node, stream, line in
            if quiet { return }
            Self.show(node: node, stream: stream, line: line, format: format, kinds: kinds, narrator: narrator, console: console, out: out)
        }
        let started = Date()
        let serveWeb = web || webBind != nil
        if serveWeb, !options.tap {
            console.say("the live view shows messages only on tapped links: these are not (--tap taps them)")
        }
        options.onPhase = { phase in
            // The tool's own polling is not part of the story.
            if format != .json, !phase.hasPrefix("check round") { console.say(String(format: "%.2f s: ", Date().timeIntervalSince(started)) + phase) }
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

        // The live view opens before the nodes start, so the page shows them joining.
        var liveServer: LiveServer?
        if serveWeb {
            let session = LiveSession(run: run)
            let server = LiveServer(options: .init(bind: webBind ?? "127.0.0.1", port: webPort, logsRoot: options.logRoot), session: session)
            do {
                let port = try server.start()
                out.mirror(session)
                liveServer = server
                let host = server.options.bind == "0.0.0.0" || server.options.bind == "::" ? (ProcessInfo.processInfo.hostName) : server.options.bind
                if server.options.everyoneDrives {
                    console.say("live view: http://\(host):\(port)/")
                } else {
                    console.say("live view: http://\(host):\(port)/ (read-only); presenter: http://\(host):\(port)/?token=\(server.options.token)")
                }
            } catch {
                console.error("crc-cluster: \(error)")
                run.killAll()
                throw ExitCode(1)
            }
        }

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
            if exitWhenSettled {
                printSummary(run, console: console, settled: settled)
                let pids = Array(Set(run.launchOrder.compactMap { (run.servers[$0]?.process ?? run.clients[$0]?.process)?.pid }))
                let rss = pids.map(residentKiB).reduce(0, +)
                let pss = pids.map(proportionalKiB).reduce(0, +)
                console.plain(String(format: "settled: %d servers, %d clients in %.2f s; resident memory %.1f MiB in all (RSS), %.1f MiB proportional (PSS)",
                                     topology.servers.count, topology.clients.count, settled, Double(rss) / 1024, Double(pss) / 1024))
            } else {
                if format != .json { printSummary(run, console: console, settled: settled) }
                let executor = ConsoleExecutor(run: run, out: out,
                                               tapHint: "up taps them unless --no-tap, or for networks over \(Self.tapLimit) nodes unless --tap")
                liveServer?.session?.attach(executor, echo: { out.line($0) })
                let live = liveServer?.session
                let commands = readsCommands
                let playSteps = play ? topology.steps : []
                let paceSeconds = pace
                if commands || !playSteps.isEmpty {
                    if commands {
                        console.say("network settled in \(String(format: "%.2f", settled)) s; type help for commands\(interactive ? "" : " (reading them from stdin)"), exit or Ctrl-C to stop")
                    }
                    let reader = Thread {
                        Self.play(playSteps, pace: paceSeconds, executor: executor, interactive: interactive, out: out)
                        guard commands else { return }
                        while true {
                            let line = interactive ? LineEditor.shared.readLine(prompt: "crc> ") : Swift.readLine()
                            guard let line else {
                                // Ctrl-D at a terminal leaves; the end of a pipe only stops the reading.
                                if interactive { stopRequested.signal() }
                                return
                            }
                            if !interactive { out.line("crc> \(line)") }
                            if !executor.execute(line) {
                                stopRequested.signal()
                                return
                            }
                            live?.networkChanged()
                        }
                    }
                    thread(reader)
                } else {
                    console.say("network settled in \(String(format: "%.2f", settled)) s; streaming, Ctrl-C to stop")
                }
                // Until asked to stop, say at once when a node dies on its own.
                var reported = Set<String>()
                while stopRequested.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                    guard let dead = executor.tryExclusive({ run.unexpectedExits() }) else { continue }
                    for (node, status) in dead where !reported.contains(node) {
                        reported.insert(node)
                        failed = true
                        live?.networkChanged()
                        console.error("crc-cluster: \(node) exited unexpectedly (\(status)); the network no longer matches the topology (exit status will be 1)")
                    }
                }
                executor.exclusive { run.wire?.observe(nil) }  // a command still running finishes first
            }
        }

        liveServer?.session?.close()
        liveServer?.close()
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
        let report = run.writeReport(passed: nil, error: failed ? "the network did not start or converge, or a node died (see the terminal output)" : nil)
        console.plain("logs: \(run.runDir.path) (timeline: \(run.runDir.path)/timeline.log; report: \(report))")
        sources.forEach { $0.cancel() }
        if failed { throw ExitCode(1) }
    }

    func thread(_ t: Thread) {
        t.stackSize = 1 << 22
        t.start()
    }

    /// The topology's steps, one at a time, each after Enter (or `pace` seconds).
    static func play(_ steps: [ScenarioStep], pace: Double?, executor: ConsoleExecutor, interactive: Bool, out: UpOutput) {
        guard !steps.isEmpty else { return }
        out.line("playing \(steps.count) steps\(pace.map { " every \($0) s" } ?? ": Enter runs the next one")")
        for (i, step) in steps.enumerated() {
            let title = "step \(i + 1)/\(steps.count): \(step.action.summary)"
            if let pace {
                out.line(title)
                usleep(UInt32(pace * 1_000_000))
            } else {
                let got = interactive ? LineEditor.shared.readLine(prompt: "\(title)  [Enter] ") : { out.line("\(title)  [Enter]"); return Swift.readLine() }()
                if got == nil { return }
            }
            executor.exclusive {
                do { try executor.run(step.action) } catch { out.line("  \(error)") }
            }
        }
        out.line("all \(steps.count) steps played")
    }

    /// One line a node printed, as `--output` asks.
    static func show(node: String, stream: NodeProcess.Stream, line: String, format: OutputFormat, kinds: Set<Narration.Kind>?,
                     narrator: Narrator, console: Console, out: UpOutput) {
        if format == .raw {
            if out.interactive { out.line("\(node) | \(line)") } else { console.line(node, line, stream: stream) }
            return
        }
        // Our servers write readable text on stderr: read it back into the event it stands for.
        guard let o = NodeEvent(line: line) ?? (stream == .stderr ? NodeEvent(serverText: line) : nil) else {
            // Free text (another implementation, a crash): shown as it is, unless only some kinds are asked for.
            guard kinds == nil, !line.isEmpty else { return }
            if format == .json {
                out.line(JSONValue.object(["node": .string(node), "stream": .string(stream.rawValue), "text": .string(line)]).text)
            } else {
                out.line("          \(node): \(line)")
            }
            return
        }
        if o.kind == .digest || o.kind == .state { return }  // crc-cluster's own polling
        let story = narrator.narrate(node: node, event: o)
        if let kinds, !(story.map { kinds.contains($0.kind) } ?? false) { return }
        if format == .json {
            // The event as its node's log holds it, with the node's name.
            var tagged = o
            tagged.fields["node"] = .string(node)
            out.line(tagged.text)
        } else if let story {
            out.event(story.kind, story.text)
        }
    }

    func printSummary(_ run: ClusterRun, console: Console, settled: Double) {
        let t = run.topology
        console.plain("")
        console.plain("CRC network '\(t.displayName)': \(t.servers.count) servers, \(t.clients.count) clients, settled in \(String(format: "%.2f", settled)) s")
        for line in run.treeLines() { console.plain(line) }
        console.plain("logs: \(run.runDir.path)/<node>.log\(run.wire != nil ? "; every message on every link: wire.jsonl" : "")")
        console.plain("")
    }
}

extension OutputFormat: ExpressibleByArgument {}


func residentKiB(_ pid: Int32) -> Int { procField(pid, file: "status", key: "VmRSS:") }
func proportionalKiB(_ pid: Int32) -> Int { procField(pid, file: "smaps_rollup", key: "Pss:") }
func procField(_ pid: Int32, file: String, key: String) -> Int {
    guard let s = ProcFile.text("/proc/\(pid)/\(file)"),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}
