import ArgumentParser
import CRCCluster
import CRCExamples
import Foundation
import CRCProcess

// MARK: - scenarios

struct Scenarios: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the topologies and scenarios built into crc-cluster, or write them out for editing.",
        discussion: """
        crc-cluster carries the repository's topologies/ folder: the example topologies \
        (tree.yaml, demo.yaml …), the course's seed scenarios (seed/), the conformance \
        scenarios (conformance/) and the fault scenarios (faults/). Any command that takes a \
        file or folder finds them by that name from any folder: `crc-cluster up \
        topologies/tree.yaml`, `crc-cluster test seed`. A file or folder of that name on \
        disk always wins, so an exported and edited copy is the one that runs.
        """,
        subcommands: [List.self, Export.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the built-in files: path, size, steps, and what each one is for.")

        @Argument(help: "Only the files under these built-in folders or names (e.g. seed, conformance).") var under: [String] = []

        func run() throws {
            let files = try Scenarios.select(under)
            let width = files.map(\.path.count).max() ?? 0
            for f in files {
                let t = try? TopologyLoader.parse(f.text, file: f.path)
                let size = t.map { "\($0.servers.count) servers, \($0.clients.count) clients, \($0.steps.count) steps" } ?? "invalid"
                let pad = String(repeating: " ", count: width - f.path.count)
                print("topologies/\(f.path)\(pad)  \(size)  \(Scenarios.summary(f.text))")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the built-in files into a folder, keeping their sub-folders (seed/, conformance/, faults/).",
            discussion: "Nothing is overwritten unless --force is given: existing files are listed and the command stops before writing any.")

        @Argument(help: "The folder to write into (created when missing).") var folder: String
        @Argument(help: "Only the files under these built-in folders or names (e.g. seed).") var under: [String] = []
        @Flag(help: "Overwrite files that already exist.") var force = false

        func run() throws {
            let files = try Scenarios.select(under)
            let base = URL(fileURLWithPath: folder)
            let targets = files.map { (file: $0, url: base.appendingPathComponent($0.path)) }
            let existing = targets.filter { FileManager.default.fileExists(atPath: $0.url.path) }
            if !force, !existing.isEmpty {
                let names = existing.prefix(5).map(\.url.path).joined(separator: ", ")
                let more = existing.count > 5 ? " and \(existing.count - 5) more" : ""
                FileHandle.standardError.write(Data("crc-cluster: \(existing.count) of these files exist already (\(names)\(more)); nothing was written. Use --force to overwrite them, or choose another folder.\n".utf8))
                throw ExitCode(1)
            }
            do {
                for t in targets {
                    try FileManager.default.createDirectory(at: t.url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(t.file.text.utf8).write(to: t.url)
                }
            } catch {
                FileHandle.standardError.write(Data("crc-cluster: cannot write into \(folder): \(describeFileError(error))\n".utf8))
                throw ExitCode(1)
            }
            print("wrote \(targets.count) files to \(folder)")
        }
    }

    /// The built-in files under the given names (all of them when none is given).
    static func select(_ under: [String]) throws -> [BuiltInFile] {
        if under.isEmpty { return BuiltInScenarios.all }
        var out: [BuiltInFile] = []
        for name in under {
            if let f = BuiltInScenarios.file(name) { out.append(f); continue }
            guard let paths = BuiltInScenarios.folder(name) else {
                throw ValidationError("'\(name)' names no built-in file or folder (crc-cluster scenarios lists them)")
            }
            out += paths.compactMap(BuiltInScenarios.file)
        }
        return out
    }

    /// The first comment line of a file, without its "#", as a one-line description.
    static func summary(_ text: String) -> String {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let l = line.trimmingCharacters(in: .whitespaces)
            guard l.hasPrefix("#") else { break }
            let words = l.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
            if !words.isEmpty { return words }
        }
        return ""
    }
}

// MARK: - schema

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a JSON Schema of the topology and scenario format (for editors and other tools).",
        discussion: """
        Save it and point your editor's YAML language server at it, with a first line in each \
        topology file such as
          # yaml-language-server: $schema=./topology.schema.json
        to get completion and errors while typing. The schema checks each node's keys and \
        types; what spans nodes (unique ids and names, upstreams that exist, no cycles) is \
        checked by `crc-cluster validate`.
        """)

    func run() throws {
        print(TopologySchema.json, terminator: "\n")
    }
}
