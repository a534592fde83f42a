import ArgumentParser
import CRCCluster
import CRCExplore
import CRCProcess
import Foundation

// MARK: - explore

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario under many message orders, to find the bugs only some orders show; shrink the first failure to a minimal schedule.",
        discussion: """
        Every node runs as its own process, as in `test`, and every link goes through a relay of \
        crc-cluster's that holds each message it frames. A scheduler decides what happens next: \
        which held message is passed on (the oldest on its connection: TCP's order on one \
        connection is kept, only the interleaving across connections changes), whether the next \
        node starts now, or whether a chat or quit step goes to its client now. It decides only when the network is quiet: nothing moved on the relays for \
        --quiet-ms and every thread of every node asleep (/proc), the launcher waiting. Each run is \
        checked as `test` checks (the model after launch, after each step, at the end; the wire).

        STRATEGIES: random (each choice equally likely), pct (random priorities per connection, \
        --depth - 1 priority changes: finds a bug needing d orderings with a known probability), \
        exhaustive (every order, fewest reorderings first: all schedules of one reordering, then \
        of two, …, with partial-order reduction: two deliveries to different nodes are not tried \
        both ways round; it ends on small scenarios). The first run is the default order (oldest \
        message first, a node started only when nothing can be delivered), which must pass as \
        `test` does.

        On the first failure, the schedule is shrunk by delta debugging over its reorderings \
        (re-running the real processes) to the fewest departures from the default order that still \
        fail, and written as schedule.json in that run's folder, whose report.html marks the \
        messages delivered out of the default order, early or held back (thick dashed arrows). `crc-cluster test --replay FILE` runs it again.

        Messages on a server's link wait until the server above it has joined (its own link has \
        carried a message and holds nothing): the course's trees are built top-down.

        STEPS THAT RACE: a chat or quit step right after the launch or a start may go before \
        the registrations those set in motion have arrived (a quit once every server has joined). \
        A raced chat is judged by its sender's server: if it had been told of the destination \
        when the chat came (read from the wire), the chat must get through; if not, "Unknown ID" \
        is the right answer. Other steps (anything after a quit or a chat, stops, faults) wait for \
        the network to settle, as in `test`; so does a chat to an id two nodes claim, or between \
        clients whose logs the scenario writes out by hand.

        Examples:
          crc-cluster explore topologies/seed/3_3_ThreeServers_FourClients.yaml
          crc-cluster explore topologies/tree.yaml --budget 2m --strategy pct
          crc-cluster explore topologies/seed/4_2_Message_One_Hop.yaml --server 'python3 server.py'
          crc-cluster explore tiny.yaml --strategy exhaustive --budget 500

        EXIT STATUS: 0 when no run failed; 1 when one did (its schedule is written); 2 on bad input.
        """)

    @Argument(help: "The scenario file (or the name of a built-in one).") var file: String
    @Option(help: ArgumentHelp("Every server runs this command (another implementation), given the seed's options.", valueName: "command"))
    var server: String?
    @Option(help: ArgumentHelp("Every server runs this submission in the course's class form (a ChatServer.py, or its folder).", valueName: "path"))
    var coursePython: String?
    @Option(help: ArgumentHelp("The folder of the course's starter files, when not beside ChatServer.py.", valueName: "dir"))
    var starter: String?
    @Option(help: "How orders are chosen.") var strategy: StrategyKind = .random
    @Option(help: ArgumentHelp("Runs (200) or time (30s, 2m) to explore for.", valueName: "n|time")) var budget = "100"
    @Option(help: "Seed of the random choices: the same seed, the same schedules.") var seed: UInt64 = 1
    @Option(help: "PCT's bound on the orderings a bug needs.") var depth = 3
    @Option(help: ArgumentHelp("Runs the shrinking may take.", valueName: "n")) var shrinkRuns = 30
    @Option(help: ArgumentHelp("How long nothing may move before each decision, ms.", valueName: "ms")) var quietMs = 3.0
    @Flag(help: ArgumentHelp("Exhaustive: also try both orders of deliveries to different nodes (to measure what the reduction saves).", visibility: .hidden))
    var noReduction = false
    @Flag(help: "Keep every run's logs and report, each with its schedule.json (by default only the failing run's and the shrunk one's).")
    var keepLogs = false
    @OptionGroup var common: CommonOptions
    @Flag(name: .shortAndLong, help: "Print every run.") var verbose = false

    func validate() throws {
        guard Budget(budget) != nil else { throw ValidationError("--budget takes a number of runs (200) or a time (30s, 2m, 1m30s), not '\(budget)'") }
        guard depth >= 1 else { throw ValidationError("--depth must be at least 1") }
        guard quietMs > 0 else { throw ValidationError("--quiet-ms must be positive") }
        if server != nil, coursePython != nil { throw ValidationError("--server and --course-python both name a server: give one") }
        if common.clientsPerProcess != 1 { throw ValidationError("explore runs every client as its own process (the scheduler watches each): leave out --clients-per-process") }
    }

    func run() throws {
        var topology = try loadOrExit(file)
        var command: [String]?
        if let server { command = try shellWords(server) }
        if let coursePython {
            let setup = try ClassHostSetup(logs: common.logs, starter: starter)
            command = try setup.prepare(coursePython, as: ClassHostSetup.student(of: coursePython, starter: starter)).command
        }
        if let command { topology = Grade.graded(topology, command: command, template: nil, mix: nil) }
        var options = Explorer.Options()
        options.strategy = strategy
        options.budget = Budget(budget)!
        options.seed = seed
        options.depth = depth
        options.shrinkRuns = shrinkRuns
        options.gate.quietMilliseconds = quietMs
        options.command = command
        options.reduce = !noReduction
        options.keepAll = keepLogs
        var runOptions = common.runOptions(nodes: topology.servers.count + topology.clients.count)
        runOptions.classHostedServers = coursePython != nil
        let stop = SignalCounter()
        runOptions.interrupted = { stop.count > 0 }
        let console0 = Console(color: nil, prefix: false)
        let sources = installSignalHandlers({ n in
            if n == 1 { console0.plain("interrupted: ending the run in progress (its logs are kept)") }
        }, counter: stop)
        defer { sources.forEach { $0.cancel() } }
        ChildReaper.becomeSubreaper()
        let console = Console(color: nil, prefix: false)
        let who = server ?? coursePython.map { "the class in \($0)" } ?? "the scenario's own servers"
        console.plain("exploring \(topology.displayName) (\(who)): \(strategy.rawValue) schedules, seed \(seed), budget \(options.budget)")
        let report = Exploration.run(topology, runOptions: runOptions, options: options, console: console, verbose: verbose)
        if let error = report.error {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(2)
        }
        console.plain(Exploration.summary(report))
        if stop.count > 0 { throw ExitCode(130) }
        if report.failure != nil { throw ExitCode(1) }
    }
}

/// Running an exploration with progress on a console: `explore`, and `grade --explore`.
enum Exploration {
    static func run(_ topology: Topology, runOptions: RunOptions, options: Explorer.Options, console: Console?, verbose: Bool) -> ExploreReport {
        let explorer = Explorer(topology: topology, runOptions: runOptions, options: options)
        let t0 = Date()
        var distinct = Set<UInt64>()
        explorer.onRun = { n, r, decisions in
            distinct.insert(Schedule.digest(decisions))
            let reordered = decisions.filter(\.reordered).count
            if verbose || !r.passed || n == 1 {
                console?.plain(String(format: "[%d] %@ %.2f s, %d decisions, %d reordered%@", n, r.passed ? "PASS" : "FAIL", r.seconds,
                                      decisions.count, reordered, n == 1 && options.strategy != .exhaustive ? " (the default order)" : ""))
            } else if n % 10 == 0 {
                let s = Date().timeIntervalSince(t0)
                console?.plain(String(format: "[%d] all passed so far; %d distinct schedules, %.2f schedules/s", n, distinct.count, Double(n) / s))
            }
        }
        explorer.onShrink = { reorderings, k, failed in
            console?.plain("  shrinking, run \(k): \(reorderings) reorderings \(failed ? "still fail" : "pass")")
        }
        return explorer.explore()
    }

    static func summary(_ r: ExploreReport) -> String {
        var out = String(format: "explored %d schedules (%d distinct) in %.1f s: %.2f schedules/s, %.0f decisions a run",
                         r.runs, r.distinct, r.seconds, r.schedulesPerSecond, r.decisionsPerRun)
        if r.complete { out += "; every schedule there is (up to reduction) was run" } else if r.runs > 0, r.reorderingsExplored > 0, r.failure == nil {
            out += "; every schedule of fewer than \(r.reorderingsExplored) reorderings was run"
        }
        guard let f = r.failure else { return out + "\nno failure" }
        out += String(format: "\nFAIL in run %d, after %.1f s: %@", f.run, f.secondsToFind, Explorer.why(f.result))
        if f.schedule.constraints.isEmpty {
            return out + "\nit fails in the default order, with no reordering: `crc-cluster test` shows the same (logs: \(f.result.logDir))"
        }
        out += String(format: "\nshrunk from %d reorderings to %d in %d runs (%.1f s): %@", f.schedule.reorderings, f.shrunk.reorderings,
                      f.shrinkRuns, r.shrinkSeconds, Explorer.why(f.shrunkResult))
        for c in f.shrunk.constraints { out += "\n  reordered: \(c.description)" }
        out += "\nschedule: \(f.path)\nreport:   \((f.shrunkResult.logDir as NSString).appendingPathComponent("report.html"))"
        out += "\nreplay:   crc-cluster test --replay \(f.path)"
        return out
    }
}

extension StrategyKind: ExpressibleByArgument {}
