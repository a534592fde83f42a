import ArgumentParser
import CRCCluster
import Foundation

// MARK: - check

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a CRC network that crc-cluster did not launch (servers on other machines, or in Kubernetes).",
        discussion: """
        With --attach, crc-cluster starts no server. Each server of the topology names where it \
        listens (host: and port:, and monitor: for its /state endpoint). crc-cluster reaches each \
        one, connects the topology's clients and one observer client of its own per server (ids \
        from 4000000000 up, named observer-SERVER), runs the steps that need no control of the \
        servers (chats, quits, starting its own clients), and makes the same checks as test: \
        servers with a monitor port by their /state; the others through their clients, whose \
        users, statuses and chats must be exactly what the tree implies.

        The network should hold only the topology's nodes: a client someone else connected is an \
        extra user that every check will report.

        Two machines: on A, crc-server --id 1 --servername a --port 7000 --bind 0.0.0.0 --monitor-port 7001; \
        on B, crc-server --id 2 --servername b --port 7000 --bind 0.0.0.0 --monitor-port 7001 \
        --connect_to_host a.example.org --connect_to_port 7000 (a dotted name or an address is \
        connected to as given); then crc-cluster check lab.yaml --attach from anywhere that reaches both.

        EXIT STATUS: 0 the network is as the topology says; 1 it is not, or a server cannot be \
        reached; 2 the file is invalid.
        """)

    @Argument(help: "Topology file (YAML) locating every server (host:, port:, optionally monitor:).") var file: String
    @Flag(help: "Attach to running servers instead of launching them (required: check only attaches).") var attach = false
    @OptionGroup var common: CommonOptions
    @Option(help: "Write JUnit XML results to this file.") var junit: String?
    @Flag(name: .shortAndLong, help: "Print each step as it happens, with times.") var verbose = false

    func validate() throws {
        guard attach else {
            throw ValidationError("check needs --attach (to launch a network and check it, use crc-cluster test)")
        }
    }

    func run() throws {
        let topology = try loadOrExit(file).withObservers()
        let missing = topology.servers.filter { $0.port == nil && $0.refused != true }.map(\.name)
        if !missing.isEmpty {
            FileHandle.standardError.write(Data("crc-cluster: to attach, every server needs port: (and host: when not on this machine); missing for \(missing.joined(separator: ", "))\n".utf8))
            throw ExitCode(2)
        }
        let console = Console(color: nil, prefix: false)
        let observers = topology.clients.filter { $0.name.hasPrefix("observer-") && $0.id >= 4_000_000_000 }
        console.plain("attaching to \(topology.servers.count) servers; observers: " + observers.map { "\($0.name) (\($0.id))" }.joined(separator: ", "))
        let t0 = Date()
        let (box, interrupted) = runScenarios([topology], common: common, jobs: 1, verbose: verbose, console: console,
                                              configure: { options, _ in options.attach = true }) { r in
            console.plain(Test.line(r, color: console.color))
        }
        let results = box.all
        if let junit { try ScenarioRunner.junit(results, seconds: Date().timeIntervalSince(t0)).write(toFile: junit, atomically: true, encoding: .utf8) }
        if interrupted { throw ExitCode(130) }
        if !(results.first?.passed ?? false) { throw ExitCode(1) }
    }
}
