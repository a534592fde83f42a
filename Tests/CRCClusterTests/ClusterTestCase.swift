import CRCCluster
import Foundation
import XCTest

/// What every test of crc-cluster as a process needs: its binary, a scratch folder, and the
/// processes it started, all stopped at the end, pass or fail.
class ClusterTestCase: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binDir: URL = {
        if let dir = ProcessInfo.processInfo.environment["CRC_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }()
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

    func cluster(_ args: [String]) throws -> NodeProcess {
        let p = NodeProcess(name: "crc-cluster", executable: Self.binDir.appendingPathComponent("crc-cluster").path,
                            arguments: args, workingDirectory: Self.root)
        processes.append(p)
        try p.start()
        return p
    }


    func nodePIDs(_ lines: [String]) -> [Int32] {
        lines.compactMap { line -> Int32? in
            guard let r = line.range(of: "pid ") else { return nil }
            return Int32(line[r.upperBound...].prefix { $0.isNumber })
        }
    }

    func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // A zombie (exited, not yet reaped by a dead parent's reaper) is not running.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }
}
