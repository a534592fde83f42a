import CRCCluster
import CRCTesting
import Foundation
import XCTest

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

    func alive(_ pid: Int32) -> Bool { TestSupport.alive(pid) }

    static func processes(where matches: (String) -> Bool) -> [Int32] { TestSupport.processes(where: matches) }

    static func poll(timeout: TimeInterval, _ condition: () -> Bool) -> Bool { TestSupport.poll(timeout: timeout, every: 20_000, condition) }
}
