import ArgumentParser
import CRCCluster
import CRCGrading
import Foundation

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
    @Option(help: ArgumentHelp("The graded server in the course's class form: a ChatServer.py (class CRCServer), or the folder that holds one.", valueName: "path"))
    var coursePython: String?
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
    @Option(help: "Scenarios run at once.") var jobs = 4
    @Flag(name: .shortAndLong, help: "Print each launch and step as it happens, with times.") var verbose = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        switch (server, coursePython) {
        case (nil, nil): throw ValidationError("say what to grade: --server 'python3 server.py' (a program), or --course-python DIR (the course's ChatServer.py class)")
        case (.some, .some): throw ValidationError("--server and --course-python both name a server to grade: give one")
        case (let server?, nil):
            guard let words = try? shellWords(server), !words.isEmpty else {
                throw ValidationError("--server needs a command, e.g. --server 'python3 server.py'")
            }
            if starter != nil { throw ValidationError("--starter goes with --course-python (the class form), not --server") }
        case (nil, let path?):
            do { _ = try CourseSubmission(path: path, starter: starter) } catch { throw ValidationError("\(error)") }
            if serverArgs != nil { throw ValidationError("--server-args does not apply to --course-python: the class host takes the course's options itself") }
        }
        if let client { guard let w = try? shellWords(client), !w.isEmpty else { throw ValidationError("--client needs a command") } }
        for (flag, value, known) in [("--client-args", clientArgs, ArgumentTemplate.clientPlaceholders),
                                     ("--server-args", serverArgs, ArgumentTemplate.serverPlaceholders)] {
            guard let value else { continue }
            guard let t = try? shellWords(value) else { throw ValidationError("\(flag): unbalanced quotes") }
            if let p = ArgumentTemplate.problem(in: t, known: known) { throw ValidationError("\(flag): \(p)") }
        }
    }

    func run() throws {
        var classHosted = false
        let command: [String]
        if let coursePython {
            let submission = try CourseSubmission(path: coursePython, starter: starter)
            let host = URL(fileURLWithPath: common.logs).appendingPathComponent(ClassHost.fileName)
            do {
                try FileManager.default.createDirectory(atPath: common.logs, withIntermediateDirectories: true)
                try ClassHost.source.write(to: host, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write the class host into \(common.logs): \(describeFileError(error)) (choose another folder with --logs)")
            }
            command = ["python3", host.path] + submission.hostArguments
            classHosted = true
        } else {
            command = try shellWords(server ?? "")
        }
        let template = try serverArgs.map(shellWords)
        let clientCommand = try client.map(shellWords)
        let clientTemplate = try clientArgs.map(shellWords)
        let defaults = ["topologies/seed", "topologies/conformance"]
        let given = paths.isEmpty ? defaults : paths
        let files: [String]
        do { files = try ScenarioRunner.expand(given) } catch {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var topologies: [Topology] = []
        for f in files {
            let t = try loadOrExit(f)
            var variants = [Self.graded(t, command: command, template: template, mix: nil)]
            if mixed, t.servers.count > 1 {
                variants.append(Self.graded(t, command: command, template: template, mix: .theirsAtRoot))
                variants.append(Self.graded(t, command: command, template: template, mix: .oursAtRoot))
            }
            if let clientCommand {
                for i in variants.indices {
                    variants[i].clients = variants[i].clients.map { var c = $0; c.command = clientCommand; c.args = nil; return c }
                    variants[i].clientArgs = clientTemplate
                }
            }
            topologies += variants
        }
        let console = Console(color: nil, prefix: false)
        console.plain("grading \(coursePython.map { "the class in \($0)" } ?? command.joined(separator: " "))\(clientCommand.map { " and the client " + $0.joined(separator: " ") } ?? "") on \(topologies.count) scenarios")
        let t0 = Date()
        let chatLine = clientChat, quitLine = clientQuit
        let (box, interrupted) = runScenarios(topologies, common: common, jobs: jobs, verbose: verbose, console: console,
                                              configure: { options, _ in
                                                  options.foreignChat = chatLine
                                                  options.foreignQuit = quitLine
                                                  options.classHostedServers = classHosted
                                              }) { r in
            console.plain(Test.line(r, color: console.color))
        }
        let elapsed = Date().timeIntervalSince(t0)
        let results = box.all
        console.plain("")
        console.plain(Self.table(results))
        let passed = results.filter(\.passed).count
        console.plain(String(format: "score: %d/%d scenarios passed (%.0f%%) in %.1f s", passed, topologies.count,
                             topologies.isEmpty ? 0 : 100 * Double(passed) / Double(topologies.count), elapsed))
        if let junit { try ScenarioRunner.junit(results, seconds: elapsed).write(toFile: junit, atomically: true, encoding: .utf8) }
        if interrupted { throw ExitCode(130) }
        if passed < topologies.count { throw ExitCode(1) }
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
