import NIOConcurrencyHelpers
import ArgumentParser
import CRCClient
import CRCCluster
import CRCCore
import CRCExplore
import CRCProtocol
import CRCServer
import Foundation
import CRCProcess

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

        --replay FILE runs the scenario of a schedule that `explore` wrote (schedule.json), under \
        that schedule: the same reorderings of the same messages, every other choice in the default \
        order, with the servers it ran; it says whether the run took the recorded decisions exactly.

        --repeat N runs each scenario N times (--jobs at once) and prints a table of its pass rate \
        and mean ± sd time, so an order-dependent bug shows as 3/50 instead of a lucky pass; only \
        the logs of failing runs are kept.

        Ctrl-C (or SIGTERM/SIGHUP) stops the run: scenarios running at that moment fail as \
        "interrupted", their networks are torn down as usual (logs and timeline kept), scenarios \
        not yet started are skipped, and the results so far are printed.

        EXIT STATUS: 0 when every scenario passes; 1 when any fails; 2 when a file is invalid; \
        130 when interrupted.
        """)

    @Argument(help: "Scenario files or folders of them.") var paths: [String] = []
    @OptionGroup var common: CommonOptions
    @Option(help: "Write JUnit XML results to this file.") var junit: String?
    @Option(help: "Scenarios run at once.") var jobs = 4
    @Option(name: .customLong("repeat"), help: ArgumentHelp("Run each scenario this many times; print its pass rate and time, keep the logs of failing runs only.", valueName: "n"))
    var repeats = 1
    @Flag(name: .shortAndLong, help: "Print each launch and step as it happens, with times.") var verbose = false
    @Option(help: ArgumentHelp("Run a schedule.json written by explore: its scenario (or the one file given) under its reorderings.", valueName: "file"))
    var replay: String?

    func validate() throws {
        if replay == nil, paths.isEmpty { throw ValidationError("name scenario files or folders to run (or --replay schedule.json)") }
        if replay != nil, paths.count > 1 { throw ValidationError("--replay runs one scenario: give at most one file") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard repeats >= 1 else { throw ValidationError("--repeat must be at least 1") }
    }

    func run() throws {
        if let replay { return try runReplay(replay) }
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

        let console = Console(color: nil, prefix: false)
        let t0 = Date()
        let repeats = self.repeats
        let scenarios = topologies
        if repeats > 1 {
            topologies = scenarios.flatMap { t in (1...repeats).map { k in var v = t; v.name = "\(t.displayName) #\(k)"; return v } }
            console.plain("running \(scenarios.count) scenario\(scenarios.count == 1 ? "" : "s") \(repeats) times each (\(topologies.count) runs, \(jobs) at a time); keeping the logs of failing runs only")
        }
        let done = NIOLockedValueBox(0)
        let total = topologies.count
        let (results, interrupted) = runScenarios(topologies, common: common, jobs: jobs, verbose: verbose, console: console,
                                                  keepPassingLogs: repeats == 1) { r in
            if repeats == 1 { return console.plain(Self.line(r, color: console.color)) }
            // Repeated: a line per run, the details of failures only.
            let n = done.withLockedValue { $0 += 1; return $0 }
            console.plain(String(format: "[%d/%d] ", n, total) + (r.passed ? "PASS \(r.name) (\(String(format: "%.2f", r.seconds)) s)" : Self.line(r, color: console.color)))
        }
        let elapsed = Date().timeIntervalSince(t0)
        if repeats > 1 {
            let summaries = scenarios.indices.map { i in
                RepeatSummary(name: scenarios[i].displayName, results: (0..<repeats).compactMap { results.at(i * repeats + $0) })
            }
            console.plain("")
            console.plain(String(RepeatSummary.table(summaries).dropLast()))
        }
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
        if interrupted { throw ExitCode(130) }
        if !invalidResults.isEmpty { throw ExitCode(2) }
        if !failed.isEmpty { throw ExitCode(1) }
    }

    /// One scenario under a schedule `explore` wrote; exits as a test does.
    func runReplay(_ path: String) throws {
        let schedule: Schedule
        do { schedule = try Schedule.load(path) } catch {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var topology = try loadOrExit(paths.first ?? schedule.scenario)
        if let command = schedule.command { topology = Grade.graded(topology, command: command, template: nil, mix: nil) }
        var gateOptions = ScheduledGate.Options()
        gateOptions.quietMilliseconds = schedule.quietMilliseconds ?? gateOptions.quietMilliseconds
        let gate = ScheduledGate(topology: topology, strategy: Constrained(schedule.constraints), options: gateOptions)
        var options = common.runOptions(nodes: topology.servers.count + topology.clients.count)
        options.gate = gate
        options.classHostedServers = schedule.classHosted ?? false
        let console = Console(color: nil, prefix: false)
        console.plain("replaying \(path): \(topology.displayName) with \(schedule.reorderings) reordering\(schedule.reorderings == 1 ? "" : "s")"
                      + (schedule.command.map { " (servers: \($0.joined(separator: " ")))" } ?? ""))
        for c in schedule.constraints { console.plain("  \(c.description)") }
        let r = ScenarioRunner.run(topology, options: options)
        gate.release()
        console.plain(Self.line(r, color: console.color))
        let taken = gate.decisions.map(\.event), recorded = schedule.decisions.map(\.event)
        if let k = zip(taken, recorded).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            console.plain("the run left the recorded schedule at decision \(k + 1) of \(recorded.count): it took \(gate.decisions[k].what), the recording \(schedule.decisions[k].what)")
        } else if taken.count != recorded.count {
            console.plain("the run took \(taken.count) decisions, the recording \(recorded.count); the first \(min(taken.count, recorded.count)) are the same")
        } else {
            console.plain("the run took the recorded \(recorded.count) decisions exactly")
        }
        if let failure = schedule.failure { console.plain("recorded failure: \(failure)") }
        if !r.passed { throw ExitCode(1) }
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
        for n in r.notes { out += "\n  note: \(n)" }
        return out
    }
}

/// Runs scenarios with this command line's options (see `ScenarioSuite.run`): tapped unless
/// --no-tap (or networks over Up.tapLimit nodes unless --tap), progress when verbose.
func runScenarios(_ topologies: [Topology], common: CommonOptions, jobs: Int, verbose: Bool, console: Console,
                  keepPassingLogs: Bool = true,
                  configure: (inout RunOptions, Topology) -> Void = { _, _ in },
                  onResult: @escaping @Sendable (ScenarioResult) -> Void) -> (results: ResultsBox, interrupted: Bool) {
    var options = common.runOptions(nodes: 0)
    let t0 = Date()
    if verbose {
        options.onProgress = { message in
            console.plain(String(format: "%7.3f  ", Date().timeIntervalSince(t0)) + message)
        }
    }
    return ScenarioSuite.run(topologies, options: options, jobs: jobs, configure: { scenarioOptions, t in
        scenarioOptions.serverStderrLevel = common.serverOutputLevel(nodes: t.servers.count + t.clients.count)
        scenarioOptions.tap = common.tap || (!common.noTap && t.servers.count + t.clients.count <= Up.tapLimit)
        configure(&scenarioOptions, t)
    }, onInterrupt: { n in
        if n == 1 { console.plain("interrupted: stopping the running scenarios (their logs are kept)") }
    }, onResult: { r in
        if !keepPassingLogs, r.passed, !r.logDir.isEmpty { removeRunLogs(r.logDir) }
        onResult(r)
    })
}

/// Removes a passing run's folder (repeated runs keep the failing ones), and `latest` with it when it pointed there.
func removeRunLogs(_ dir: String) {
    let url = URL(fileURLWithPath: dir)
    try? FileManager.default.removeItem(at: url)
    let latest = url.deletingLastPathComponent().appendingPathComponent("latest")
    if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: latest.path), target == url.lastPathComponent {
        try? FileManager.default.removeItem(at: latest)
    }
}
