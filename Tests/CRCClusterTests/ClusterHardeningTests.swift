import CRCCluster
import Foundation
import XCTest

/// crc-cluster under the abuse of issue 7: parallel load, node commands that fork and leave things
/// behind, nodes that die during `up`, repeated signals, and the reports users read.
final class ClusterHardeningTests: ClusterTestCase {
    /// Parallel scenarios of 40 servers and 80 clients each used to crash crc-cluster (SIGSEGV
    /// inside Foundation's `Process.run()` with many descriptors open). Now every run finishes
    /// with its summary and JUnit. CI runs it 10 times (CRC_SOAK_RUNS); 2 by default.
    func testParallelSoakOfGeneratedScenariosNeverCrashes() throws {
        let runs = Int(ProcessInfo.processInfo.environment["CRC_SOAK_RUNS"] ?? "") ?? 2
        let folder = tmp.appendingPathComponent("soak")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for seed in 1...8 {
            let gen = try cluster(["gen", "--servers", "40", "--clients", "80", "--shape", "random", "--seed", "\(seed)"])
            XCTAssertEqual(gen.waitForExit(timeout: 30), .exited(0))
            gen.waitForEndOfOutput()
            try (gen.stdoutLines.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("s\(seed).yaml"), atomically: true, encoding: .utf8)
        }
        for run in 1...runs {
            let junit = tmp.appendingPathComponent("soak-\(run).xml").path
            let p = try cluster(["test", folder.path, "--jobs", "4", "-v", "--logs", tmp.appendingPathComponent("logs").path, "--junit", junit])
            let status = p.waitForExit(timeout: 600)
            p.waitForEndOfOutput()
            let out = (p.stdoutLines + p.stderrLines).joined(separator: "\n")
            XCTAssertEqual(status, .exited(0), "run \(run):\n\(out)")
            XCTAssertTrue(out.contains("8 passed, 0 failed"), "run \(run):\n\(out)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: junit), "run \(run) wrote no JUnit")
            // Every wave of every teardown ends quickly: no node blocks on its output any more
            // (stops used to time out after 5 s under this load). Measured: at most ~0.3 s.
            let slowest = p.stdoutLines.compactMap { line -> Double? in
                guard let r = line.range(of: "slowest ") else { return nil }
                return Double(line[r.upperBound...].prefix { $0.isNumber || $0 == "." })
            }
            XCTAssertEqual(slowest.count, 8, "run \(run): not every scenario reported its teardown")
            XCTAssertLessThan(slowest.max() ?? 99, 2, "run \(run): a teardown wave took \(slowest.max() ?? 99) s")
            if status != .exited(0) { break }
        }
    }

    /// Whatever a node's command starts — in its process group, or escaped with setsid, or a
    /// server left running by a wrapper that exits at once — is gone when crc-cluster exits.
    func testNodeCommandsLeaveNoProcessBehind() throws {
        let server = Self.binDir.appendingPathComponent("crc-server").path
        let mark = Int.random(in: 100_000...999_999)
        let forking = tmp.appendingPathComponent("forking-server.sh")
        try """
        #!/bin/sh
        ( exec sleep \(mark)1 ) &
        setsid sleep \(mark)2 &
        exec "\(server)" "$@"
        """.write(to: forking, atomically: true, encoding: .utf8)
        let deserting = tmp.appendingPathComponent("deserting-server.sh")
        try """
        #!/bin/sh
        "\(server)" "$@" --info "deserter\(mark)" &
        exit 0
        """.write(to: deserting, atomically: true, encoding: .utf8)
        chmod(forking.path, 0o755)
        chmod(deserting.path, 0o755)
        let good = tmp.appendingPathComponent("forks.yaml")
        try """
        servers:
          - {id: 1, name: a}
          - {id: 2, name: b, upstream: a, command: ["\(forking.path)"]}
        clients:
          - {id: 101, name: x, server: b}
        """.write(to: good, atomically: true, encoding: .utf8)
        let bad = tmp.appendingPathComponent("deserts.yaml")
        try """
        servers:
          - {id: 1, name: a}
          - {id: 2, name: b, upstream: a, command: ["\(deserting.path)"]}
        """.write(to: bad, atomically: true, encoding: .utf8)
        let p = try cluster(["test", good.path, bad.path, "--logs", tmp.appendingPathComponent("logs").path, "--settle-timeout", "2"])
        let status = p.waitForExit(timeout: 120)
        p.waitForEndOfOutput()
        let out = (p.stdoutLines + p.stderrLines).joined(separator: "\n")
        XCTAssertEqual(status, .exited(1), out)
        XCTAssertTrue(out.contains("PASS forks"), out)
        // The wrapper exited 0 at once, and what it left in its process group went with it: the
        // scenario says so rather than passing.
        XCTAssertTrue(out.contains("FAIL deserts"), out)
        XCTAssertTrue(out.contains("server 'b' never became ready: it ended with exit 0"), out)
        let left = Self.processes { $0.contains("\(mark)1") || $0.contains("\(mark)2") || $0.contains("deserter\(mark)") }
        XCTAssertEqual(left, [], "left running after crc-cluster exited")
    }

    /// `up`: a node killed from outside is reported at once and makes the exit status 1; the
    /// exit table lists every node of the topology.
    func testUpReportsANodeKilledFromOutside() throws {
        let file = tmp.appendingPathComponent("pair.yaml")
        let name = "victim\(Int.random(in: 100_000...999_999))"
        try """
        servers:
          - {id: 1, name: root}
          - {id: 2, name: \(name), upstream: root}
        clients:
          - {id: 101, name: x, server: root}
        """.write(to: file, atomically: true, encoding: .utf8)
        let up = try cluster(["up", file.path, "--logs", tmp.appendingPathComponent("logs").path, "--no-color"])
        XCTAssertNotNil(up.waitForLine(timeout: 60) { $0.contains("network settled in") }, up.stderrLines.joined(separator: "\n"))
        let victim = try XCTUnwrap(Self.processes { $0.contains("--servername\0\(name)\0") }.first)
        kill(victim, SIGKILL)
        XCTAssertTrue(Self.poll(timeout: 10) { up.stderrLines.contains { $0.contains("\(name) exited unexpectedly (signal 9 (SIGKILL))") } },
                      up.stderrLines.joined(separator: "\n"))
        up.signal(SIGINT)
        XCTAssertEqual(up.waitForExit(timeout: 30), .exited(1))
        up.waitForEndOfOutput()
        let table = up.stdoutLines.drop { !$0.hasPrefix("NODE") }
        XCTAssertTrue(table.contains { $0.hasPrefix(name) && $0.contains("signal 9") }, "\(table)")
        XCTAssertTrue(table.contains { $0.hasPrefix("root ") && $0.hasSuffix("exit 0") }, "\(table)")
        XCTAssertTrue(table.contains { $0.hasPrefix("x ") && $0.hasSuffix("exit 0") }, "\(table)")
    }

    /// A server that fails to start: the table still lists every node, the later ones as not started.
    func testUpExitTableListsNodesThatNeverStarted() throws {
        let file = tmp.appendingPathComponent("fails.yaml")
        try """
        servers:
          - {id: 1, name: root}
          - {id: 2, name: broken, upstream: root, command: [/bin/false]}
          - {id: 3, name: after, upstream: broken}
        clients:
          - {id: 101, name: x, server: root}
        """.write(to: file, atomically: true, encoding: .utf8)
        let up = try cluster(["up", file.path, "--logs", tmp.appendingPathComponent("logs").path, "--no-color"])
        XCTAssertEqual(up.waitForExit(timeout: 60), .exited(1))
        up.waitForEndOfOutput()
        let table = Array(up.stdoutLines.drop { !$0.hasPrefix("NODE") })
        for node in ["root", "broken", "after", "x"] {
            XCTAssertTrue(table.contains { $0.hasPrefix(node + " ") }, "\(node) missing from \(table)")
        }
        XCTAssertTrue(table.contains { $0.hasPrefix("after ") && $0.hasSuffix("not started") }, "\(table)")
        XCTAssertTrue(table.contains { $0.hasPrefix("broken ") && $0.hasSuffix("exit 1") }, "\(table)")
    }

    /// The same stop request delivered twice within a second (`timeout -s INT` signals the child,
    /// then its group) is one request: the nodes still leave gracefully.
    func testUpTreatsASignalRepeatedWithinASecondAsOne() throws {
        let up = try cluster(["up", "topologies/line.yaml", "--logs", tmp.appendingPathComponent("logs").path, "--no-color"])
        XCTAssertNotNil(up.waitForLine(timeout: 60) { $0.contains("network settled in") }, up.stderrLines.joined(separator: "\n"))
        up.signal(SIGINT)
        usleep(50_000)  // the thing under test: a second signal 50 ms after the first
        up.signal(SIGINT)
        XCTAssertEqual(up.waitForExit(timeout: 30), .exited(0))
        up.waitForEndOfOutput()
        let table = up.stdoutLines.drop { !$0.hasPrefix("NODE") }
        XCTAssertEqual(table.filter { $0.hasSuffix("exit 0") }.count, 8, "forced instead of graceful: \(table)")
        XCTAssertFalse(up.stdoutLines.contains { $0.contains("forcing") } || up.stderrLines.contains { $0.contains("forcing") })
    }

    /// A run with an invalid file still runs the valid ones, reports the invalid one, exits 2,
    /// and writes JUnit with it as an error.
    func testInvalidFileDoesNotStopTheOthersAndIsInJUnit() throws {
        let bad = tmp.appendingPathComponent("bad.yaml")
        try "servers:\n  - {id: one, name: a}\n  - {id: 2, name: b, upstream: a, port: many}\n".write(to: bad, atomically: true, encoding: .utf8)
        let junit = tmp.appendingPathComponent("j.xml").path
        let p = try cluster(["test", bad.path, "topologies/line.yaml", "--logs", tmp.appendingPathComponent("logs").path, "--junit", junit])
        XCTAssertEqual(p.waitForExit(timeout: 120), .exited(2))
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n"), err = p.stderrLines.joined(separator: "\n")
        XCTAssertTrue(out.contains("PASS line"), out)
        XCTAssertTrue(out.contains("1 passed, 0 failed, 1 invalid"), out)
        // Both type errors, not only the first.
        XCTAssertTrue(err.contains("bad.yaml:2:10:") && err.contains("bad.yaml:3:41:"), err)
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        XCTAssertTrue(xml.contains("tests=\"2\" failures=\"0\" errors=\"1\""), xml)
        XCTAssertTrue(xml.contains("<error message=\"invalid scenario file\">"), xml)
    }

    /// Wrong expectations planted on two servers and two clients: all four are reported, not only
    /// the servers' (clients used to be skipped while any server differed).
    func testEveryPlantedWrongExpectationIsReported() throws {
        let file = tmp.appendingPathComponent("planted.yaml")
        try """
        servers:
          - {id: 1, name: a}
          - {id: 2, name: b, upstream: a}
        clients:
          - {id: 101, name: x, server: a}
          - {id: 102, name: y, server: b}
        expect:
          a: {hosts: [2, 101, 102, 999]}
          b: {status_log: ["never said"]}
          x: {users: [102, 998]}
          y: {chat_log: ["never sent"]}
        """.write(to: file, atomically: true, encoding: .utf8)
        let p = try cluster(["test", file.path, "--logs", tmp.appendingPathComponent("logs").path, "--settle-timeout", "1"])
        XCTAssertEqual(p.waitForExit(timeout: 60), .exited(1))
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        XCTAssertTrue(out.contains("a hosts: missing 999"), out)
        XCTAssertTrue(out.contains("b status_log: missing \"never said\""), out)
        XCTAssertTrue(out.contains("x users: missing 998"), out)
        XCTAssertTrue(out.contains("y chat_log: missing \"never sent\""), out)
    }

    /// A hosted client (many clients per process) whose chat log grows past a few hundred bytes
    /// still answers every digest: its lines carry its name first. (It used to fall silent, so
    /// every check waited out the deadline and the scenario failed.)
    func testAHostedClientWithALongChatLogStillAnswers() throws {
        let file = tmp.appendingPathComponent("long-log.yaml")
        var yaml = """
        servers:
          - {id: 1, name: a}
        clients:
          - {id: 101, name: x, server: a}
          - {id: 102, name: y, server: a}
        steps:

        """
        for i in 1...200 { yaml += "  - chat: {from: x, to: y, text: \"chat number \(i) with some words to make the log long\"}\n" }
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let p = try cluster(["test", file.path, "--clients-per-process", "2", "--settle-timeout", "3",
                             "--logs", tmp.appendingPathComponent("logs").path])
        let status = p.waitForExit(timeout: 300)
        p.waitForEndOfOutput()
        let out = (p.stdoutLines + p.stderrLines).joined(separator: "\n")
        XCTAssertEqual(status, .exited(0), out)
        XCTAssertTrue(out.contains("PASS long-log"), out)
    }

    /// A server whose state cannot be read (no monitor port, another implementation) used to be
    /// skipped by every check, so a scenario expecting nonsense of it passed. Now its links are
    /// tapped and its table is checked from the wire: the nonsense fails, naming what differs.
    func testAServerWithoutStateInterfaceIsCheckedFromTheWire() throws {
        let file = tmp.appendingPathComponent("false-pass.yaml")
        try """
        servers:
          - {id: 1, name: root}
          - {id: 2, name: left, upstream: root, command: ["\(Self.binDir.appendingPathComponent("crc-server").path)"]}
        expect:
          left: {hosts: [999]}
        """.write(to: file, atomically: true, encoding: .utf8)
        let p = try cluster(["test", file.path, "--logs", tmp.appendingPathComponent("logs").path, "--settle-timeout", "2"])
        XCTAssertEqual(p.waitForExit(timeout: 60), .exited(1))
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        XCTAssertTrue(out.contains("FAIL false-pass"), out)
        XCTAssertTrue(out.contains("left hosts: missing 999; extra 1"), out)
    }

    /// Plain messages for what users get wrong, and the small commands that must just work.
    func testValidateFoldersLogFolderErrorsVersionAndGeneratedIDs() throws {
        let v = try cluster(["validate", "topologies/faults"])
        XCTAssertEqual(v.waitForExit(timeout: 30), .exited(0))
        v.waitForEndOfOutput()
        XCTAssertEqual(v.stdoutLines.filter { $0.contains(": ok (") }.count, 3, "\(v.stdoutLines)")

        let logs = try cluster(["up", "topologies/line.yaml", "--logs", "/proc/nope"])
        XCTAssertEqual(logs.waitForExit(timeout: 30), .exited(1))
        logs.waitForEndOfOutput()
        let err = logs.stderrLines.joined(separator: "\n")
        XCTAssertTrue(err.contains("cannot create the log folder /proc/nope") && err.contains("--logs"), err)
        XCTAssertFalse(err.contains("NSCocoaErrorDomain") || err.contains("Error Domain"), err)

        let version = try cluster(["--version"])
        XCTAssertEqual(version.waitForExit(timeout: 30), .exited(0))
        version.waitForEndOfOutput()
        XCTAssertEqual(version.stdoutLines.first?.split(separator: ".").count, 3, "\(version.stdoutLines)")

        XCTAssertEqual(TopologyGenerator.clientIDBase(servers: 100_001), 1_000_000)
        let text = TopologyGenerator.yaml(servers: 100_001, clients: 2, shape: .star)
        let t = try TopologyLoader.parse(text, file: "gen.yaml")  // throws on a duplicate id
        XCTAssertEqual(t.clients.map(\.id), [1_000_001, 1_000_002])
    }

}
