import CRCCluster
import CRCTesting
import Foundation
import XCTest
import CRCProcess

/// What every test of crc-cluster as a process needs: its binary, a scratch folder, and the
/// processes it started, all stopped at the end, pass or fail.
class ClusterTestCase: XCTestCase {
    static var root: URL { TestSupport.repositoryRoot }
    static var binDir: URL { TestSupport.binDir }
    var processes: [NodeProcess] = []
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("crc-cluster-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for p in processes { p.stop(grace: 2) }
        try? FileManager.default.removeItem(at: tmp)
    }

    /// crc-cluster started in `folder` (by default the repository's root).
    func cluster(_ args: [String], in folder: URL? = nil) throws -> NodeProcess {
        let p = NodeProcess(name: "crc-cluster", executable: Self.binDir.appendingPathComponent("crc-cluster").path,
                            arguments: args, workingDirectory: folder ?? Self.root)
        processes.append(p)
        try p.start()
        return p
    }


    /// A test that needs a tool this machine lacks: skipped when iterating, but a failure in CI
    /// (`CI=true`), where `scripts/deps.sh test` installs every tool, so a green CI has checked it.
    func requireTool(_ found: Bool, _ what: String) throws {
        guard !found else { return }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("\(what) is missing in CI: scripts/deps.sh test should have installed it")
            throw XCTSkip("\(what) is missing")
        }
        throw XCTSkip("\(what) is missing (scripts/deps.sh test installs it)")
    }

    func nodePIDs(_ lines: [String]) -> [Int32] {
        lines.compactMap { line -> Int32? in
            guard let r = line.range(of: "pid ") else { return nil }
            return Int32(line[r.upperBound...].prefix { $0.isNumber })
        }
    }

    func alive(_ pid: Int32) -> Bool { TestSupport.alive(pid) }

    static func processes(where matches: (String) -> Bool) -> [Int32] { TestSupport.processes(where: matches) }

    static func poll(timeout: TimeInterval, _ condition: () -> Bool) -> Bool { TestSupport.poll(timeout: timeout, every: 20_000, condition) }
}
