import ArgumentParser
import CRCCluster
import Foundation

// MARK: - report

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate a run's HTML report (logs/<run>/report.html) from its folder.",
        discussion: """
        up (at exit) and test (for each scenario) write the report themselves; this rebuilds it \
        from the folder's run.json and wire.jsonl, e.g. after an upgrade. The page is \
        self-contained: the tree, a space-time diagram of every message on every link (when the \
        links were tapped), the chats (click one to highlight its path), and what differed.

        Example: crc-cluster report logs/latest
        """)

    @Argument(help: "A run's log folder (logs/<run-id>, or logs/latest).") var runDir: String

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDir, isDirectory: &isDir), isDir.boolValue else {
            FileHandle.standardError.write(Data("crc-cluster: \(runDir): no such folder (give a run's log folder, e.g. logs/latest)\n".utf8))
            throw ExitCode(2)
        }
        do {
            let path = try ClusterRun.regenerateReport(in: URL(fileURLWithPath: runDir))
            print(path)
        } catch {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
