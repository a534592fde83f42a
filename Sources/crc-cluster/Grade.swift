import ArgumentParser
import CRCCluster
import CRCExplore
import CRCGrading
import CRCProcess
import Foundation
import NIOConcurrencyHelpers

// MARK: - grade

struct Grade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grade another CRC server implementation (a student's) against the seed scenarios and conformance scenarios.",
        discussion: """
        Every server of every scenario runs the graded command, given exactly the seed's options: \
        --id N --servername NAME --port P --info TEXT [--connect_to_host 127.0.0.1 \
        --connect_to_port Q] --log-file FILE (ports chosen by crc-cluster; --server-args changes \
        the flags for implementations that name them otherwise). Clients are crc-client, unless \
        --client grades a client too (given the seed client's options: --id --serverhost \
        --serverport --username --info --log-file; made to chat and quit by lines on its stdin, \
        --client-chat and --client-quit). A server \
        is ready when its port accepts connections from its own process (or a child of it); \
        nothing else is asked of it: no ready line, \
        no state interface, no log format.

        crc-cluster taps every link and checks from the wire alone: what each server must know \
        (reconstructed from what reached it), what each client was told, that each registration \
        crosses each link at most once, away from the machine it describes, with the right last \
        hop, that each chat crosses exactly the links of its tree path in order, that unknown ids \
        are answered back to the sender, and that quits reach everyone once without echoes. Every \
        message is recorded in logs/<run>/wire.jsonl.

        With --explore BUDGET, each scenario of three nodes or more is also run under other message \
        orders (crc-cluster explore: the relays hold every message and a scheduler picks which \
        passes next) for that many runs or that long, and counts as one more test, \
        '<scenario> [orders]', failed with the fewest reorderings that break it and the command \
        that replays them.

        With --mixed, each scenario with more than one server also runs twice in mixed trees, every \
        other server being crc-server (in its course profile): the graded server first, then ours \
        first. The graded server must also work beside this project's, both ways round.

        A submission in the course's class form (ChatServer.py holding class CRCServer, which \
        imports the course's starter module ChatMessageParser and has no main program) is graded \
        with --course-python PATH: each server runs one CRCServer object in crc-cluster's class \
        host (started by run(), stopped through request_terminate), and besides the wire its four \
        graded attributes (hosts_db, adjacent_server_ids, adjacent_user_ids, status_updates_log) \
        are checked, each difference named as the course names it and saying whether the wire \
        agrees. ChatMessageParser.py must be beside ChatServer.py, or in the folder --starter names.

        Examples:
          crc-cluster grade --course-python submissions/alice/ --starter course/starter/
          crc-cluster grade --server 'python3 student/server.py'
          crc-cluster grade --server './server' --server-args='-i {id} -n {name} -p {port} -u {upstream_port}' topologies/seed
          crc-cluster grade --server 'python3 server.py' --mixed --junit grade.xml

        EXIT STATUS: 0 when every scenario passes; 1 when any fails; 2 on bad input; 130 when interrupted.
        """)

    @Option(help: ArgumentHelp("The graded server: a command line (split like a shell's, quotes honoured).", valueName: "command"))
    var server: String?
    @Option(parsing: .upToNextOption,
            help: ArgumentHelp("The graded server in the course's class form: a ChatServer.py (class CRCServer), or the folder that holds one. Several (submissions/*/) grade a whole class: name scenario files before this option.", valueName: "path"))
    var coursePython: [String] = []
    @Option(help: ArgumentHelp("Grade a client in the course's class form too: a ChatClient.py (class CRCClient), or the folder that holds one; every client of every scenario runs it.", valueName: "path"))
    var coursePythonClient: String?
    @Option(help: ArgumentHelp("The folder holding the course's starter files (ChatMessageParser.py), when they are not beside ChatServer.py.", valueName: "dir"))
    var starter: String?
    @Option(help: ArgumentHelp("Its arguments as a template instead of the seed's options; placeholders: \(ArgumentTemplate.serverPlaceholders.map { "{\($0)}" }.joined(separator: " ")). An argument whose placeholder has no value (a root has no upstream) is left out with the option before it. Write --server-args='-i {id} …' (with =) when the template starts with a dash.",
                               valueName: "template"))
    var serverArgs: String?
    @Option(help: ArgumentHelp("Grade a client too: every client runs this command (given the seed client's options), and is checked from what its server sent it.", valueName: "command"))
    var client: String?
    @Option(help: ArgumentHelp("The graded client's arguments as a template; placeholders: \(ArgumentTemplate.clientPlaceholders.map { "{\($0)}" }.joined(separator: " ")).", valueName: "template"))
    var clientArgs: String?
    @Option(help: ArgumentHelp("The stdin line that makes the graded client chat; placeholders {to} (an id) and {text}.", valueName: "template"))
    var clientChat = "msg {to} {text}"
    @Option(help: ArgumentHelp("The stdin line that makes the graded client quit; placeholder {text}.", valueName: "template"))
    var clientQuit = "quit {text}"
    @Flag(help: "Also run each scenario in two mixed trees: every other server (in file order) is crc-server, the graded one first, then ours first.") var mixed = false
    @Argument(help: "Scenario files or folders (default: topologies/seed and topologies/conformance, built into crc-cluster; folders of those names here win).") var paths: [String] = []
    @OptionGroup var common: CommonOptions
    @Option(help: "Write JUnit XML results to this file.") var junit: String?
    @Option(help: ArgumentHelp("Write Gradescope's autograder results (score, one test per scenario) to this file; one submission only.", valueName: "file"))
    var gradescope: String?
    @Option(help: ArgumentHelp("Points per scenario, and hidden ones: a YAML mapping of scenario names to a weight or to {weight: N, hidden: true} (hidden: after_published on Gradescope). Others count 1.", valueName: "file"))
    var weights: String?
    @Option(help: ArgumentHelp("Where a class's summary goes (summary.csv, summary.html); by default <logs>/class-<time>.", valueName: "dir"))
    var summary: String?
    @Flag(help: "Run the graded programs without limits (trusted code).") var noSandbox = false
    @Flag(help: "Do not grade inside a private network namespace (by default, as root, the whole grading runs in one with loopback only, so graded programs reach nothing outside it).")
    var sharedNetwork = false
    @Option(help: ArgumentHelp("Processes and threads a scenario's graded programs may have at once (enforced when crc-cluster runs as root, under a uid of each run's own).", valueName: "n"))
    var maxProcesses = 256
    @Option(help: ArgumentHelp("CPU seconds per graded process.", valueName: "s")) var maxCpu = 120
    @Option(help: ArgumentHelp("Address space per graded process, MiB.", valueName: "MiB")) var maxMemory = 2048
    @Option(help: ArgumentHelp("Largest file a graded process may write, MiB.", valueName: "MiB")) var maxFileSize = 64
    @Option(help: ArgumentHelp("Open files and sockets per graded process.", valueName: "n")) var maxOpenFiles = 256
    @Option(help: ArgumentHelp("Output kept of each stream of each graded process, MiB; the rest is dropped and counted.", valueName: "MiB")) var maxOutput = 4
    @Option(help: ArgumentHelp("Wall-clock seconds a scenario may take in all; past it, it fails saying so.", valueName: "s"))
    var timeLimit: Double = 180
    @Option(help: ArgumentHelp("Scenarios run at once (default 4, or 12 for a class: a failing submission's scenarios mostly wait out the settle timeout).", valueName: "n"))
    var jobs: Int?
    @Option(name: .customLong("repeat"), help: ArgumentHelp("Run each scenario this many times: a scenario counts as passed only if every run passes; a table gives each one's pass rate. Only failing runs' logs are kept.", valueName: "n"))
    var repeats = 1
    @Flag(name: .shortAndLong, help: "Print each launch and step as it happens, with times.") var verbose = false
    @Option(help: ArgumentHelp("Also explore other message orders (see `crc-cluster explore`): each scenario of three nodes or more, for this many runs (20) or this long (30s), counts as one more test, '<scenario> [orders]'.", valueName: "budget"))
    var explore: String?
    @Option(help: "How --explore chooses orders.") var exploreStrategy: StrategyKind = .pct
    @Option(help: "Seed of --explore's random choices.") var exploreSeed: UInt64 = 1

    func validate() throws {
        if let explore, Budget(explore) == nil { throw ValidationError("--explore takes a number of runs (20) or a time (30s, 2m), not '\(explore)'") }
        guard (jobs ?? 1) >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard repeats >= 1 else { throw ValidationError("--repeat must be at least 1") }
        switch (server, coursePython.first) {
        case (nil, nil): throw ValidationError("say what to grade: --server 'python3 server.py' (a program), or --course-python DIR (the course's ChatServer.py class)")
        case (.some, .some): throw ValidationError("--server and --course-python both name a server to grade: give one")
        case (let server?, nil):
            guard let words = try? shellWords(server), !words.isEmpty else {
                throw ValidationError("--server needs a command, e.g. --server 'python3 server.py'")
            }
            if starter != nil { throw ValidationError("--starter goes with --course-python (the class form), not --server") }
        case (nil, .some):
            guard !split.submissions.isEmpty else { throw ValidationError("--course-python names no submission (only scenario files)") }
            for path in split.submissions {
                do { _ = try CourseSubmission(path: path, starter: starter) } catch { throw ValidationError("\(error)") }
            }
            if serverArgs != nil { throw ValidationError("--server-args does not apply to --course-python: the class host takes the course's options itself") }
        }
        guard maxProcesses >= 8, maxCpu >= 1, maxMemory >= 64, maxFileSize >= 1, maxOpenFiles >= 32, maxOutput >= 1, timeLimit > 0 else {
            throw ValidationError("the limits are too small for any server: --max-processes ≥ 8, --max-cpu ≥ 1, --max-memory ≥ 64, --max-file-size ≥ 1, --max-open-files ≥ 32, --max-output ≥ 1, --time-limit > 0")
        }
        if gradescope != nil, split.submissions.count > 1 {
            throw ValidationError("--gradescope writes one submission's results (Gradescope grades one at a time): give one --course-python path")
        }
        if let weights {
            let text: String
            do { text = try String(contentsOfFile: weights, encoding: .utf8) } catch {
                throw ValidationError("--weights \(weights): cannot read it: \(describeFileError(error))")
            }
            do { _ = try ScenarioWeights.parse(text, file: weights) } catch { throw ValidationError("--weights: \(error)") }
        }
        if let c = coursePythonClient {
            if client != nil { throw ValidationError("--client and --course-python-client both name a client to grade: give one") }
            do { _ = try CourseSubmission(path: c, starter: starter, file: "ChatClient.py") } catch { throw ValidationError("\(error)") }
        }
        if let client { guard let w = try? shellWords(client), !w.isEmpty else { throw ValidationError("--client needs a command") } }
        for (flag, value, known) in [("--client-args", clientArgs, ArgumentTemplate.clientPlaceholders),
                                     ("--server-args", serverArgs, ArgumentTemplate.serverPlaceholders)] {
            guard let value else { continue }
            guard let t = try? shellWords(value) else { throw ValidationError("\(flag): unbalanced quotes") }
            if let p = ArgumentTemplate.problem(in: t, known: known) { throw ValidationError("\(flag): \(p)") }
        }
    }

    /// --course-python takes every value up to the next option (so `submissions/*/` works); a value
    /// that is a scenario (a .yaml file, a built-in name, a folder of scenarios without a
    /// ChatServer.py) goes with the scenarios instead.
    var split: (submissions: [String], scenarios: [String]) {
        var subs: [String] = [], scenarios = paths
        for v in coursePython {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: v, isDirectory: &isDir)
            let yaml = v.hasSuffix(".yaml") || v.hasSuffix(".yml")
            let builtIn = !exists && (BuiltInScenarios.file(v) != nil || BuiltInScenarios.folder(v) != nil)
            let scenarioFolder = exists && isDir.boolValue && !FileManager.default.fileExists(atPath: v + "/ChatServer.py")
                && ((try? FileManager.default.contentsOfDirectory(atPath: v)) ?? []).contains { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            if yaml || builtIn || scenarioFolder { scenarios.append(v) } else { subs.append(v) }
        }
        return (subs, scenarios)
    }

    /// One implementation to grade: a student's class (by the name of its folder) or a program.
    struct Graded {
        var student: String
        var submission: String
        var command: [String]
    }

    func run() throws {
        if !noSandbox, !sharedNetwork { try NetworkNamespace.enterIfPossible() }
        let classHosted = !coursePython.isEmpty
        var graded: [Graded] = []
        if classHosted {
            let setup = try ClassHostSetup(logs: common.logs, starter: starter)
            var seen: [String: Int] = [:]
            for path in split.submissions {
                var student = try ClassHostSetup.student(of: path, starter: starter)
                seen[student, default: 0] += 1
                if seen[student]! > 1 { student += "-\(seen[student]!)" }
                let (original, command) = try setup.prepare(path, as: student)
                graded.append(Graded(student: student, submission: original.path, command: command))
            }
        } else {
            let command = try shellWords(server ?? "")
            graded = [Graded(student: command.joined(separator: " "), submission: command.joined(separator: " "), command: command)]
        }
        var sandbox: Sandbox?
        if !noSandbox {
            var s = Sandbox()
            (s.processes, s.cpuSeconds, s.memoryBytes, s.fileBytes, s.openFiles, s.outputBytes) =
                (maxProcesses, maxCpu, maxMemory << 20, maxFileSize << 20, maxOpenFiles, maxOutput << 20)
            if Sandbox.canChangeUser {
                // Everything the graded processes need must be reachable by another user.
                let needed = [common.logs] + graded.flatMap { g in
                    [NodeProcess.resolve(g.command[0], path: ProcessInfo.processInfo.environment["PATH"])]
                        + g.command.dropFirst().filter { FileManager.default.fileExists(atPath: $0) }
                }
                let unreachable = needed.first { !Sandbox.othersCanReach($0) }
                s.ownUser = unreachable == nil
                if let unreachable {
                    FileHandle.standardError.write(Data("crc-cluster: note: graded programs keep crc-cluster's uid, so the process limit is not enforced (root ignores it): \(unreachable) is not reachable by other users; grade from a folder they can reach (/tmp, /srv) with programs they can run (/usr/bin/python3)\n".utf8))
                }
            }
            sandbox = s
        }
        let scoring = try weights.map { try ScenarioWeights.parse(String(contentsOfFile: $0, encoding: .utf8), file: $0) } ?? ScenarioWeights()
        let template = try serverArgs.map(shellWords)
        var clientCommand = try client.map(shellWords)
        if let c = coursePythonClient {
            let logs = URL(fileURLWithPath: common.logs)
            let host = logs.appendingPathComponent(ClassHost.clientFileName)
            do {
                try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
                try ClassHost.clientSource.write(to: host, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write the client host into \(common.logs): \(describeFileError(error)) (choose another folder with --logs)")
            }
            let original = try CourseSubmission(path: c, starter: starter, file: "ChatClient.py")
            let copy = try CourseSubmission.copyReadable(original.server.deletingLastPathComponent(), to: logs.appendingPathComponent("client-submission"))
            let starterCopy = try starter.map { try CourseSubmission.copyReadable(URL(fileURLWithPath: $0), to: logs.appendingPathComponent("client-starter")) }
            let submission = try CourseSubmission(path: copy.path, starter: starterCopy?.path, file: "ChatClient.py")
            let python = Sandbox.othersCanReach("/usr/bin/python3", execute: true) ? "/usr/bin/python3" : "python3"
            clientCommand = [python, host.path] + submission.hostArguments
        }
        let clientTemplate = try clientArgs.map(shellWords)
        let defaults = ["topologies/seed", "topologies/conformance"]
        let given = split.scenarios.isEmpty ? defaults : split.scenarios
        let files: [String]
        do { files = try ScenarioRunner.expand(given) } catch {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // The scenarios, each with its mixed variants: the same for every submission.
        var scenarios: [(topology: Topology, mix: Mix?)] = []
        for f in files {
            let t = try loadOrExit(f)
            scenarios.append((t, nil))
            if mixed, t.servers.count > 1 {
                scenarios.append((t, .theirsAtRoot))
                scenarios.append((t, .oursAtRoot))
            }
        }
        let batch = graded.count > 1
        let parallel = jobs ?? (batch ? 12 : 4)
        var topologies: [Topology] = []
        for g in graded {
            for (t, mix) in scenarios {
                var v = Self.graded(t, command: g.command, template: template, mix: mix)
                if let clientCommand {
                    v.clients = v.clients.map { var c = $0; c.command = clientCommand; c.args = nil; return c }
                    v.clientArgs = clientTemplate
                }
                if batch { v.name = "\(g.student): \(v.displayName)" }
                if repeats == 1 { topologies.append(v); continue }
                for k in 1...repeats {
                    var r = v
                    r.name = "\(v.displayName) #\(k)"
                    topologies.append(r)
                }
            }
        }
        var scenarioNames = scenarios.map { Self.graded($0.topology, command: [], template: nil, mix: $0.mix).displayName }
        let console = Console(color: nil, prefix: false)
        let what = classHosted ? (batch ? "\(graded.count) class submissions" : "the class in \(split.submissions[0])") : graded[0].student
        console.plain("grading \(what)\(clientCommand.map { " and the client " + $0.joined(separator: " ") } ?? "") on \(scenarios.count) scenarios"
                      + (batch ? " (\(topologies.count) runs, \(parallel) at a time)" : ""))
        let t0 = Date()
        let chatLine = clientChat, quitLine = clientQuit, limit = timeLimit, classClients = coursePythonClient != nil
        console.plain(sandbox.map { "sandbox: \($0.summary); \(Int(timeLimit)) s a scenario" } ?? "sandbox: none (--no-sandbox)")
        let done = NIOLockedValueBox(0)
        let total = topologies.count
        let repeats = self.repeats
        if repeats > 1 { console.plain("each scenario runs \(repeats) times; it passes only if every run does (logs kept of failing runs only)") }
        let configure: (inout RunOptions) -> Void = { options in
            options.foreignChat = chatLine
            options.foreignQuit = quitLine
            options.classHostedServers = classHosted
            options.classHostedClients = classClients
            options.sandbox = sandbox
            options.timeLimit = limit
        }
        let (box, interrupted) = runScenarios(topologies, common: common, jobs: parallel, verbose: verbose, console: console,
                                              keepPassingLogs: repeats == 1,
                                              configure: { options, _ in configure(&options) }) { r in
            if batch || repeats > 1 {
                let n = done.withLockedValue { $0 += 1; return $0 }
                let why = r.passed ? "" : ": " + String((r.error ?? r.differences.first.map { "\(r.failedAt ?? ""): \($0)" } ?? "")
                    .split(separator: "\n").first ?? "").prefix(110)
                console.plain(String(format: "[%d/%d] %@ %@ (%.2f s)", n, total, r.passed ? "PASS" : "FAIL", r.name, r.seconds) + why
                              + r.notes.map { "\n  note: \($0)" }.joined())
            } else {
                console.plain(Test.line(r, color: console.color))
            }
        }
        var elapsed = Date().timeIntervalSince(t0)
        // Repeated, a scenario's result is its first failing run, else its first run.
        func result(_ k: Int, _ s: Int) -> ScenarioResult? {
            let runs = (0..<repeats).compactMap { box.at((k * scenarios.count + s) * repeats + $0) }
            guard var r = runs.first(where: { !$0.passed }) ?? runs.first else { return nil }
            if repeats > 1 {
                r.name = batch ? "\(graded[k].student): \(scenarioNames[s])" : scenarioNames[s]
                if !r.passed { r.notes.append("failed \(runs.filter { !$0.passed }.count) of \(runs.count) runs") }
            }
            return r
        }
        var students = graded.enumerated().map { (k, g) in
            StudentResults(student: g.student, submission: g.submission, results: scenarios.indices.map { result(k, $0) })
        }
        if let explore, !interrupted {
            let explorable = scenarios.filter { $0.mix == nil && GradeExploration.explorable($0.topology) }.map(\.topology)
            let exploration = GradeExploration(budget: Budget(explore)!, strategy: exploreStrategy, seed: exploreSeed, jobs: parallel)
            let common = self.common
            let found = exploration.run(graded.map { ($0.student, $0.command) }, scenarios: explorable, batch: batch, options: { t in
                var o = common.runOptions(nodes: t.servers.count + t.clients.count)
                configure(&o)
                return o
            }, console: console)
            scenarioNames += explorable.map { GradeExploration.name($0.displayName) }
            for k in students.indices { students[k].results += found[k].map { Optional($0) } }
            elapsed = Date().timeIntervalSince(t0)
        }
        if repeats > 1 {
            var rows: [RepeatSummary] = []
            for k in graded.indices {
                for s in scenarios.indices {
                    let runs = (0..<repeats).compactMap { box.at((k * scenarios.count + s) * repeats + $0) }
                    rows.append(RepeatSummary(name: batch ? "\(graded[k].student): \(scenarioNames[s])" : scenarioNames[s], results: runs))
                }
            }
            console.plain("")
            console.plain(String(RepeatSummary.table(rows).dropLast()))
        }
        console.plain("")
        if batch {
            console.plain(ClassReport.table(students, scenarios: scenarioNames, weights: scoring))
            let folder = URL(fileURLWithPath: summary ?? (common.logs + "/class-" + ClusterRun.makeRunID("summary").prefix(15)))
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try ClassReport.csv(students, scenarios: scenarioNames, weights: scoring)
                    .write(to: folder.appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
                try ClassReport.html(students, scenarios: scenarioNames, weights: scoring, folder: folder)
                    .write(to: folder.appendingPathComponent("summary.html"), atomically: true, encoding: .utf8)
            } catch {
                FileHandle.standardError.write(Data("crc-cluster: cannot write the class summary into \(folder.path): \(describeFileError(error))\n".utf8))
                throw ExitCode(2)
            }
            console.plain("summary: \(folder.path)/summary.csv and summary.html")
        } else {
            console.plain(Self.table(students[0].results.compactMap { $0 }))
        }
        let results = students.flatMap { $0.results.compactMap { $0 } }
        let passed = results.filter(\.passed).count
        let runsGraded = students.count * scenarioNames.count
        console.plain(String(format: "score: %d/%d scenarios passed (%.0f%%) in %.1f s", passed, runsGraded,
                             runsGraded == 0 ? 0 : 100 * Double(passed) / Double(runsGraded), elapsed))
        if let junit { try ScenarioRunner.junit(results, seconds: elapsed).write(toFile: junit, atomically: true, encoding: .utf8) }
        if let gradescope {
            let out = GradescopeResults(scenarios: scenarioNames, results: students[0].results, weights: scoring)
            do { try out.json.write(toFile: gradescope, atomically: true, encoding: .utf8) } catch {
                FileHandle.standardError.write(Data("crc-cluster: cannot write \(gradescope): \(describeFileError(error))\n".utf8))
                throw ExitCode(2)
            }
            console.plain("gradescope: \(gradescope) (\(ClassReport.points(out.score)) points)")
        }
        if interrupted { throw ExitCode(130) }
        if passed < runsGraded { throw ExitCode(1) }
    }

    enum Mix { case theirsAtRoot, oursAtRoot }

    /// The scenario with every server (or, mixed, every other one in file order) running the graded command.
    static func graded(_ t: Topology, command: [String], template: [String]?, mix: Mix?) -> Topology {
        var g = t
        var servers = g.servers
        for i in servers.indices {
            let ours: Bool
            switch mix {
            case nil: ours = false
            case .theirsAtRoot: ours = i % 2 == 1
            case .oursAtRoot: ours = i % 2 == 0
            }
            servers[i].command = ours ? nil : command
            servers[i].args = nil
        }
        g.servers = servers
        g.serverArgs = template
        switch mix {
        case nil: break
        case .theirsAtRoot: g.name = "\(t.displayName) (mixed, theirs first)"
        case .oursAtRoot: g.name = "\(t.displayName) (mixed, ours first)"
        }
        return g
    }

    /// One line per scenario: the verdict and the first thing that went wrong.
    static func table(_ results: [ScenarioResult]) -> String {
        let width = max(8, results.map(\.name.count).max() ?? 8)
        var out = "scenario".padding(toLength: width, withPad: " ", startingAt: 0) + "  result  first difference\n"
        for r in results {
            let first = r.error.map { $0.split(separator: "\n").first.map(String.init) ?? $0 }
                ?? r.differences.first.map { "\(r.failedAt.map { "\($0): " } ?? "")\($0.description.split(separator: "\n").first ?? "")" } ?? ""
            out += r.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (r.passed ? "PASS  " : "FAIL  ") + "  " + first + "\n"
        }
        return out
    }
}
