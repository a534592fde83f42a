import CRCCluster
import Foundation
import XCTest
import CRCContract
import CRCProcess

/// crc-cluster as a user runs it: a real process launching real networks.
final class ClusterProcessTests: ClusterTestCase {
    /// The seed's twenty scenarios, the conformance scenarios, the example topologies and the
    /// fault scenarios, through `crc-cluster test`.
    func testSeedScenariosAndExamplesPass() throws {
        let junit = tmp.appendingPathComponent("junit.xml").path
        let p = try cluster(["test", "topologies", "--logs", tmp.appendingPathComponent("logs").path, "--junit", junit])
        let status = p.waitForExit(timeout: 300)
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        XCTAssertEqual(status, .exited(0), out + p.stderrLines.joined(separator: "\n"))
        // As many as the folder holds (counted here, so adding a scenario does not break the test).
        let files = try ScenarioRunner.expand([Self.root.appendingPathComponent("topologies").path]).count
        XCTAssertGreaterThan(files, 20)
        XCTAssertEqual(p.stdoutLines.filter { $0.hasPrefix("PASS") }.count, files, out)
        XCTAssertTrue(out.contains("\(files) passed, 0 failed"), out)
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        XCTAssertTrue(xml.contains("tests=\"\(files)\" failures=\"0\""), xml)
    }

    /// Many clients per process (the mode for thousands of clients) passes the same scenarios,
    /// faults and restarts included: each hosted client keeps its own connection, state and log.
    func testClientsSharingProcessesPassTheSameScenarios() throws {
        let logs = tmp.appendingPathComponent("logs")
        let p = try cluster(["test", "topologies/tree.yaml", "topologies/faults", "--clients-per-process", "3", "--logs", logs.path])
        let status = p.waitForExit(timeout: 120)
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        XCTAssertEqual(status, .exited(0), out + p.stderrLines.joined(separator: "\n"))
        XCTAssertTrue(out.contains("4 passed, 0 failed"), out)
        // Hosted: far fewer client processes than clients, and still one log file per client.
        let run = try FileManager.default.contentsOfDirectory(atPath: logs.path).filter { $0.contains("-tree-") }
        let files = try FileManager.default.contentsOfDirectory(atPath: logs.appendingPathComponent(run[0]).path)
        XCTAssertEqual(files.filter { $0.hasPrefix("clients-") && $0.hasSuffix(".json") }.count, 3, "\(files)")
        XCTAssertTrue(files.contains("frodo.log"), "\(files)")
    }

    func testAWrongExpectationFailsWithWhatDiffered() throws {
        let file = tmp.appendingPathComponent("wrong.yaml")
        try """
        servers:
          - {id: 1, name: a}
          - {id: 2, name: b, upstream: a}
        clients:
          - {id: 101, name: x, server: a}
          - {id: 102, name: y, server: b}
        steps:
          - chat: {from: x, to: y, text: hello}
        expect:
          y: {chat_log: [goodbye]}
        """.write(to: file, atomically: true, encoding: .utf8)
        let p = try cluster(["test", file.path, "--logs", tmp.appendingPathComponent("logs").path, "--settle-timeout", "1"])
        XCTAssertEqual(p.waitForExit(timeout: 60), .exited(1))
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        XCTAssertTrue(out.contains("FAIL wrong"), out)
        XCTAssertTrue(out.contains("y chat_log: missing \"goodbye\"; extra \"hello\""), out)
        XCTAssertTrue(out.contains("logs: "), out)
    }

    /// A node that dies in the middle of a scenario fails it at once, with its exit status and the
    /// last lines of its log; nothing waits for it to come back.
    func testANodeThatDiesFailsTheScenarioWithItsExitAndLogTail() throws {
        let file = tmp.appendingPathComponent("dies.yaml")
        let client = Self.binDir.appendingPathComponent("crc-client").path
        // y runs another program (a wrapper of crc-client), driven by lines on its stdin: its input
        // is cut after its first command (the first chat), so it quits (exit 0) right after it.
        try """
        servers:
          - {id: 1, name: a}
        clients:
          - {id: 101, name: x, server: a}
          - {id: 102, name: y, server: a, command: [sh, -c, 'head -n 1 | exec "$0" "$@"', "\(client)"]}
        steps:
          - settle
          - chat: {from: y, to: x, text: the last words}
          - chat: {from: x, to: y, text: never read}
        """.write(to: file, atomically: true, encoding: .utf8)
        let started = Date()
        let p = try cluster(["test", file.path, "--logs", tmp.appendingPathComponent("logs").path])
        XCTAssertEqual(p.waitForExit(timeout: 60), .exited(1))
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "a dead node must not make the run wait out deadlines")
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        XCTAssertTrue(out.contains("FAIL dies"), out)
        // It dies right after its chat, so the check after that step, or the next one, catches it.
        XCTAssertTrue(out.contains("differences step 2 (chat y → x: the last words)") || out.contains("differences step 3 (chat x → y: never read)"), out)
        XCTAssertTrue(out.contains("y process: exited unexpectedly (exit 0)"), out)
        XCTAssertTrue(out.contains("y log: "), "the tail of its log: \(out)")
    }

    func testInvalidFileIsRejectedBeforeAnythingStarts() throws {
        let file = tmp.appendingPathComponent("bad.yaml")
        try "servers:\n  - {id: 1, name: a, upstream: nowhere}\n".write(to: file, atomically: true, encoding: .utf8)
        let p = try cluster(["up", file.path, "--logs", tmp.appendingPathComponent("logs").path])
        XCTAssertEqual(p.waitForExit(timeout: 30), .exited(2))
        p.waitForEndOfOutput()
        XCTAssertEqual(p.stderrLines, ["\(file.path):2:32: server 'a': upstream 'nowhere' is not a server in this file"])
    }

    /// A port already taken and a missing executable: one clear message naming the node and the
    /// cause, a non-zero exit, and nothing left running.
    func testPortTakenAndMissingExecutableAreReportedClearly() throws {
        let blocker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blocker) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(blocker, $0, len) } }
        listen(blocker, 1)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(blocker, $0, &len) } }
        let taken = Int(UInt16(bigEndian: addr.sin_port))

        let portFile = tmp.appendingPathComponent("port.yaml")
        try "servers:\n  - {id: 1, name: a}\n  - {id: 2, name: b, upstream: a, port: \(taken)}\n".write(to: portFile, atomically: true, encoding: .utf8)
        let p = try cluster(["up", portFile.path, "--logs", tmp.appendingPathComponent("logs").path])
        XCTAssertEqual(p.waitForExit(timeout: 30), .exited(1))
        p.waitForEndOfOutput()
        let err = p.stderrLines.joined(separator: "\n")
        XCTAssertTrue(err.contains("server 'b' never became ready: it ended with exit 1"), err)
        XCTAssertTrue(err.contains("cannot listen on 127.0.0.1:\(taken): Address already in use"), err)
        XCTAssertFalse(p.stdoutLines.contains { $0.hasSuffix(" running") }, "every node stopped: \(p.stdoutLines)")

        let exeFile = tmp.appendingPathComponent("exe.yaml")
        try "servers:\n  - {id: 1, name: a, command: [/nonexistent/crc-server]}\n".write(to: exeFile, atomically: true, encoding: .utf8)
        let q = try cluster(["up", exeFile.path, "--logs", tmp.appendingPathComponent("logs").path])
        XCTAssertEqual(q.waitForExit(timeout: 30), .exited(1))
        q.waitForEndOfOutput()
        XCTAssertTrue(q.stderrLines.contains { $0.contains("a: executable not found or not executable: /nonexistent/crc-server") },
                      q.stderrLines.joined(separator: "\n"))
    }

    /// A node's `command:` runs another program with the same options (here our own server given
    /// by path, so it is started through setpriv like any foreign implementation).
    func testCommandOverrideRunsTheGivenProgram() throws {
        let file = tmp.appendingPathComponent("override.yaml")
        let server = Self.binDir.appendingPathComponent("crc-server").path
        try """
        servers:
          - {id: 1, name: a, command: [\(server)]}
          - {id: 2, name: b, upstream: a, command: [\(server)]}
        clients:
          - {id: 101, name: x, server: a}
          - {id: 102, name: y, server: b}
        steps:
          - chat: {from: x, to: y, text: via override}
        """.write(to: file, atomically: true, encoding: .utf8)
        let p = try cluster(["test", file.path, "--logs", tmp.appendingPathComponent("logs").path])
        XCTAssertEqual(p.waitForExit(timeout: 60), .exited(0))
        p.waitForEndOfOutput()
        XCTAssertTrue(p.stdoutLines.contains { $0.hasPrefix("PASS override") }, p.stdoutLines.joined(separator: "\n"))
    }

    /// `up` streams prefixed output; Ctrl-C stops every node gracefully and prints the exit table;
    /// a SIGKILLed crc-cluster leaves no node behind.
    func testUpThenInterruptAndKill() throws {
        let logs = tmp.appendingPathComponent("logs").path
        let up = try cluster(["up", "topologies/line.yaml", "--logs", logs, "--no-color", "--output", "raw"])
        XCTAssertNotNil(up.waitForLine(timeout: 60) { $0.contains("network settled in") }, up.stderrLines.joined(separator: "\n"))
        XCTAssertTrue(up.stdoutLines.contains { $0.hasPrefix("s1") && $0.contains("| ") }, "prefixed node output")
        let pids = nodePIDs(up.stdoutLines)
        XCTAssertEqual(pids.count, 8, "\(up.stdoutLines)")
        up.signal(SIGINT)
        XCTAssertEqual(up.waitForExit(timeout: 30), .exited(0))
        up.waitForEndOfOutput()
        let table = up.stdoutLines.drop { !$0.hasPrefix("NODE") }
        XCTAssertEqual(table.filter { $0.hasSuffix("exit 0") }.count, 8, "\(table)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: logs + "/latest/timeline.log"))
        for pid in pids { XCTAssertFalse(alive(pid), "node \(pid) outlived crc-cluster") }

        let again = try cluster(["up", "topologies/star.yaml", "--logs", logs, "--no-color"])
        XCTAssertNotNil(again.waitForLine(timeout: 60) { $0.contains("network settled in") })
        let pids2 = nodePIDs(again.stdoutLines)
        XCTAssertEqual(pids2.count, 10)
        again.signal(SIGKILL)
        _ = again.waitForExit(timeout: 10)
        _ = Self.poll(timeout: 10) { !pids2.contains(where: self.alive) }
        for pid in pids2 { XCTAssertFalse(alive(pid), "node \(pid) outlived a SIGKILLed crc-cluster") }
        // Every node still left as if stopped, and its log is whole up to that point.
        let run = URL(fileURLWithPath: logs + "/latest").resolvingSymlinksInPath()
        let files = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasSuffix(".log") }
        XCTAssertEqual(files.count, 10, "\(files)")
        for f in files {
            let text = try String(contentsOf: run.appendingPathComponent(f), encoding: .utf8)
            XCTAssertTrue(text.hasSuffix("\n"), "\(f) ends mid-line")
            // Every line is an event of the contract (a renamed or unknown event fails here).
            let events = text.split(separator: "\n").compactMap { line in
                let e = NodeEvent(line: line)
                XCTAssertNotNil(e, "\(f): \(line)")
                return e
            }
            if events.contains(where: { $0.kind == .ready }) {
                XCTAssertTrue(events.contains { $0.kind == .signal }, "\(f) did not log its departure")
            }
        }

        // SIGTERM acts like Ctrl-C.
        let third = try cluster(["up", "topologies/line.yaml", "--logs", logs, "--no-color"])
        XCTAssertNotNil(third.waitForLine(timeout: 60) { $0.contains("network settled in") })
        let pids3 = nodePIDs(third.stdoutLines)
        third.signal(SIGTERM)
        XCTAssertEqual(third.waitForExit(timeout: 30), .exited(0))
        third.waitForEndOfOutput()
        XCTAssertEqual(third.stdoutLines.drop { !$0.hasPrefix("NODE") }.filter { $0.hasSuffix("exit 0") }.count, 8)
        for pid in pids3 { XCTAssertFalse(alive(pid), "node \(pid) outlived crc-cluster") }
    }

    /// Ctrl-C in the middle of `crc-cluster test`: the running scenario is torn down (no node left,
    /// logs and timeline written), the rest are not started, and the exit status says so.
    func testInterruptedTestRunCleansUpAndSaysSo() throws {
        let logs = tmp.appendingPathComponent("logs").path
        let junit = tmp.appendingPathComponent("interrupted.xml").path
        let p = try cluster(["test", "topologies/faults", "topologies/seed", "--jobs", "1", "--logs", logs, "-v", "--junit", junit])
        XCTAssertNotNil(p.waitForLine(timeout: 60) { $0.contains("step 1:") }, p.stderrLines.joined(separator: "\n"))
        p.signal(SIGINT)
        XCTAssertEqual(p.waitForExit(timeout: 30), .exited(130))
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        XCTAssertTrue(out.contains("interrupted"), out)
        XCTAssertTrue(out.contains("not run"), out)
        // The scenarios that never ran are in the JUnit file, as skipped.
        let xml = (try? String(contentsOfFile: junit, encoding: .utf8)) ?? ""
        XCTAssertTrue(xml.contains("tests=\"23\"") && xml.contains("<skipped message="), xml)
        let run = URL(fileURLWithPath: logs + "/latest").resolvingSymlinksInPath()
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("timeline.log").path))
        let pids = nodePIDs(p.stdoutLines)  // -v reports each node's pid as it starts
        XCTAssertFalse(pids.isEmpty, out)
        for pid in pids { XCTAssertFalse(alive(pid), "node \(pid) outlived the interrupted run") }
    }
}
