import ArgumentParser
import CRCClient
import CRCCluster
import CRCCore
import CRCProtocol
import CRCServer
import Foundation
import CRCContract

@main
struct CRCClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crc-cluster",
        abstract: "Launch a CRC network from a YAML topology, check how it converges, and run scenarios.",
        discussion: """
        Start here:   crc-cluster up topologies/tree.yaml
        Check files:  crc-cluster validate topologies/*.yaml
        Run tests:    crc-cluster test topologies/seed --junit results.xml
        Grade:        crc-cluster grade --server 'python3 student/server.py'
        Find races:   crc-cluster explore topologies/seed/3_3_ThreeServers_FourClients.yaml --budget 2m
        Teach:        crc-cluster up topologies/demo.yaml --play
        A lab:        crc-cluster check lab.yaml --attach
        Scale:        crc-cluster simulate --sweep 100,300,1000
        Make a tree:  crc-cluster gen --servers 100 --clients 1000 --shape balanced > big.yaml
        Look back:    crc-cluster report logs/latest   (then open logs/latest/report.html)
        Show a class: crc-cluster up topologies/tree.yaml --web   (then open http://127.0.0.1:8080/)
        Replay runs:  crc-cluster serve logs/

        Every node is its own process. crc-server and crc-client are taken from the folder of \
        crc-cluster when they are there (after `swift build`), otherwise crc-cluster runs them \
        itself; a node's `command:` in the topology overrides either. Each run writes \
        logs/<run-id>/<node>.log, timeline.log, paths.txt, wire.jsonl (tapped links) and \
        report.html; logs/latest is the newest run.
        """,
        version: crcVersion,
        subcommands: [Up.self, Test.self, Explore.self, Grade.self, GradescopeKitCommand.self, Check.self, Simulate.self, Report.self, Serve.self, Render.self, Validate.self, Gen.self, Graph.self, Scenarios.self, Schema.self, ServerCLI.self, ClientCLI.self, ClientHostCommand.self])

    static func main() {
        dieWithParentIfAsked()  // when running as an embedded node of another crc-cluster
        main(Array(webPortSpelling(CommandLine.arguments.dropFirst())))
    }
}

/// `--web PORT` is `--web --web-port PORT` (the port is optional, which swift-argument-parser's
/// options cannot be), and `--web=PORT` too.
func webPortSpelling<C: Collection<String>>(_ args: C) -> [String] {
    var out: [String] = []
    var it = Array(args)[...]
    while let a = it.popFirst() {
        if a == "--" { out.append(a); out += it; break }
        if a.hasPrefix("--web="), Int(a.dropFirst(6)) != nil { out += ["--web", "--web-port", String(a.dropFirst(6))]; continue }
        out.append(a)
        if a == "--web", let next = it.first, Int(next) != nil {
            out += ["--web-port", next]
            it = it.dropFirst()
        }
    }
    return out
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
    @Flag(help: "Tap every link, whatever the network's size: record each message that crosses it to logs/<run>/wire.jsonl and check routing from the wire. By default links are tapped in networks of up to \(Up.tapLimit) nodes, and always when a node runs another implementation.")
    var tap = false
    @Flag(help: "Do not tap the links of our own nodes (no wire.jsonl, no wire checks, no messages in the report).")
    var noTap = false
    @Option(help: ArgumentHelp("How strictly the wire is judged: course tolerates the course servers' harmless habits (docs/protocol.md, \"Course peers\"); strict does not.", valueName: "profile"))
    var wireProfile: WireProfile = .course

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
        options.tap = tap
        options.wireProfile = wireProfile
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

    func run() throws {
        let specs = try JSONDecoder().decode([HostedClientSpec].self, from: Data(contentsOf: URL(fileURLWithPath: spec)))
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

extension WireProfile: ExpressibleByArgument {}
