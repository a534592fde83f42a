import CRCCluster
import XCTest

/// Every command's --help reads as prose: it exits 0, names its usage, and no line ends in a stray
/// backslash (a doubled line continuation in the help text once printed one on every line).
final class HelpTests: ClusterTestCase {
    func testEveryCommandsHelpReadsCleanly() throws {
        for command in ["up", "test", "explore", "grade", "check", "simulate", "report", "render", "validate", "gen", "graph", "scenarios", "scenarios export", "schema", "serve"] {
            let p = try cluster(command.split(separator: " ").map(String.init) + ["--help"])
            XCTAssertEqual(p.waitForExit(timeout: 30), .exited(0), command)
            p.waitForEndOfOutput()
            let out = p.stdoutLines.joined(separator: "\n")
            XCTAssertTrue(out.contains("USAGE: crc-cluster \(command)"), "\(command): \(out.prefix(200))")
            let stray = p.stdoutLines.filter { $0.hasSuffix("\\") }
            XCTAssertEqual(stray, [], "\(command) --help has lines ending in a backslash")
        }
    }

    /// Shell completion scripts (swift-argument-parser's) generate for bash, zsh and fish, and
    /// complete every subcommand.
    func testCompletionScriptsNameEveryCommand() throws {
        let commands = ["up", "test", "explore", "grade", "check", "simulate", "report", "render", "validate", "gen", "graph", "scenarios", "schema", "serve"]
        for shell in ["bash", "zsh", "fish"] {
            let p = try cluster(["--generate-completion-script", shell])
            XCTAssertEqual(p.waitForExit(timeout: 30), .exited(0), shell)
            p.waitForEndOfOutput()
            let script = p.stdoutLines.joined(separator: "\n")
            XCTAssertGreaterThan(p.stdoutLines.count, 20, shell)
            for c in commands { XCTAssertTrue(script.contains(c), "\(shell) completion lacks \(c)") }
            XCTAssertTrue(script.contains("settle-timeout"), "\(shell) completion lacks the options of a subcommand")
        }
    }
}
