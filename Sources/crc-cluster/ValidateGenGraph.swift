import ArgumentParser
import CRCClient
import CRCCluster
import CRCCore
import CRCProtocol
import CRCServer
import Foundation
import CRCProcess

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
        p.waitForEndOfOutput()
        return p.stdoutLines.joined(separator: "\n") + "\n"
    }
}

extension TopologyGraph.Format: ExpressibleByArgument {}
