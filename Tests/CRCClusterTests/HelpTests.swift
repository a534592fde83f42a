import CRCCluster
import XCTest

/// Every command's --help reads as prose: it exits 0, names its usage, and no line ends in a stray
/// backslash (a doubled line continuation in the help text once printed one on every line).
final class HelpTests: ClusterTestCase {
    func testEveryCommandsHelpReadsCleanly() throws {
        for command in ["up", "test", "grade", "check", "simulate", "report", "render", "validate", "gen", "graph"] {
            let p = try cluster([command, "--help"])
            XCTAssertEqual(p.waitForExit(timeout: 30), .exited(0), command)
            _ = p.waitForLine(timeout: 5) { _ in false }
            let out = p.stdoutLines.joined(separator: "\n")
            XCTAssertTrue(out.contains("USAGE: crc-cluster \(command)"), "\(command): \(out.prefix(200))")
            let stray = p.stdoutLines.filter { $0.hasSuffix("\\") }
            XCTAssertEqual(stray, [], "\(command) --help has lines ending in a backslash")
        }
    }
}
