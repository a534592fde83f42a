import ArgumentParser
import CRCCluster
import CRCLive
import Foundation

// MARK: - serve

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve past runs in a browser: the list of runs with their verdicts, and each run replayed message by message.",
        discussion: """
        Lists every run under DIR (logs/ by default: each logs/<run-id>/ with a run.json), newest \
        first, coloured pass or fail. Opening one replays its wire.jsonl on the run's tree, one \
        message at a time, forward and backward (or played), with the space-time diagram, each \
        chat's expected path drawn beside the hops it took, what differed, and what each node \
        had learned so far (click it). The page works offline. Ctrl-C stops.

        EXAMPLE
          crc-cluster test topologies/seed && crc-cluster serve logs/    # then open http://127.0.0.1:8080/
        """)

    @Argument(help: "The folder of runs.") var dir = "logs"
    @Option(help: "The port (0 picks a free one).") var port = 8080
    @Option(help: ArgumentHelp("The address to listen on: 0.0.0.0 shares the page with a room.", valueName: "address"))
    var bind = "127.0.0.1"

    func validate() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw ValidationError("\(dir) is not a folder of runs (crc-cluster test, grade and up write them into logs/)")
        }
        if !(0...65535).contains(port) { throw ValidationError("--port: \(port) is not a port") }
    }

    func run() throws {
        let root = URL(fileURLWithPath: dir)
        let server = LiveServer(options: .init(bind: bind, port: port, logsRoot: root), session: nil)
        let bound: Int
        do { bound = try server.start() } catch {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let runs = RunArchive(root: root).list()
        FileHandle.standardOutput.write(Data("serving \(runs.count) run\(runs.count == 1 ? "" : "s") from \(root.path) at http://\(bind):\(bound)/ (Ctrl-C stops)\n".utf8))
        let stop = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { stop.signal() }
            s.resume()
            sources.append(s)
        }
        stop.wait()
        server.close()
    }
}
