import CRCCluster
import CRCProcess
import CRCTesting
import Foundation
import XCTest

/// A grader runs untrusted code: hostile submissions — a fork bomb, endless output, a disk filler,
/// one that never stops when asked, a daemoniser, a port hog — graded in one batch beside a
/// correct one cost nothing but their own score: the batch finishes, the correct submission
/// passes, every limit is seen to bite, and no process of theirs outlives the grader.
final class SandboxTests: ClusterTestCase {
    static var fixture: URL { root.appendingPathComponent("Tests/Fixtures/course_class") }

    static let hostile: [(name: String, old: String, new: String)] = [
        // Forks until the kernel says no (a bounded bomb, so a missing limit cannot take the machine).
        ("forkbomb", "    def run(self):\n", """
            def run(self):
                import os, time
                for _ in range(2000):
                    if os.fork() == 0:
                        time.sleep(120)
                        os._exit(0)

        """),
        // Prints without end, from a thread of its own, and serves as usual.
        ("chatterbox", "    def run(self):\n", """
            def run(self):
                import sys, threading
                def flood():
                    while True:
                        sys.stdout.write("x" * 4000 + "\\n")
                threading.Thread(target=flood, daemon=True).start()

        """),
        // Writes one file without end.
        ("diskfiller", "    def run(self):\n", """
            def run(self):
                with open("fill.bin", "wb") as f:
                    while True:
                        f.write(b"0" * (1 << 20))

        """),
        // Never looks at request_terminate: only SIGKILL ends it.
        ("stubborn", "        while not self.request_terminate:\n", "        while True:\n"),
        // Leaves a daemon behind: double fork, setsid, and a sleep of its own.
        ("daemoniser", "    def run(self):\n", """
            def run(self):
                import os
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        os.execv("/bin/sleep", ["sleep", "917"])
                    os._exit(0)

        """),
        // Takes every port it can get, and keeps them.
        ("porthog", "    def run(self):\n", """
            def run(self):
                import socket
                self.hogged = []
                try:
                    while True:
                        s = socket.socket()
                        s.bind(("127.0.0.1", 0))
                        s.listen(1)
                        self.hogged.append(s)
                except OSError:
                    pass

        """),
    ]

    func testHostileSubmissionsCostOnlyTheirOwnScore() throws {
        try requireTool(Sandbox.canChangeUser, "root, with setpriv (a uid of each run's own: the process limit)")
        try requireTool(Sandbox.prlimitPath != nil, "prlimit (util-linux)")
        try requireTool(Sandbox.othersCanReach("/usr/bin/python3"), "/usr/bin/python3")
        XCTAssertTrue(Sandbox.othersCanReach(tmp.path), "the test's folder must be reachable by the sandbox's users")
        let base = try String(contentsOf: Self.fixture.appendingPathComponent("ChatServer.py"), encoding: .utf8)
        let submissions = tmp.appendingPathComponent("submissions")
        // A listener in this machine's network: the grading's own namespace must not reach it.
        let outside = TestSupport.listenOnLoopback()
        defer { close(outside.fd) }
        let phoner = ("phoner", "    def run(self):\n", """
            def run(self):
                import socket
                try:
                    socket.create_connection(("127.0.0.1", \(outside.port)), timeout=1).close()
                except OSError:
                    pass

        """)
        for (name, old, new) in [("alice", "", ""), phoner] + Self.hostile {
            let dir = submissions.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            if !old.isEmpty { XCTAssertTrue(base.contains(old), "\(name): the fixture changed") }
            try (old.isEmpty ? base : base.replacingOccurrences(of: old, with: new)).write(to: dir.appendingPathComponent("ChatServer.py"), atomically: true, encoding: .utf8)
            try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("ChatMessageParser.py"), to: dir.appendingPathComponent("ChatMessageParser.py"))
        }
        let names = ["alice", "phoner"] + Self.hostile.map(\.name)
        let logs = tmp.appendingPathComponent("logs")
        let t0 = Date()
        let p = try cluster(["grade", "topologies/seed/4_2_Message_One_Hop.yaml", "--course-python"] + names.map { submissions.appendingPathComponent($0).path }
                            + ["--logs", logs.path, "--summary", tmp.appendingPathComponent("summary").path, "--jobs", "4",
                               "--max-processes", "64", "--max-file-size", "8", "--max-output", "1", "--max-open-files", "64", "--time-limit", "60"],
                            in: tmp)
        let status = p.waitForExit(timeout: 400)
        p.waitForEndOfOutput()
        let out = (p.stdoutLines + p.stderrLines).joined(separator: "\n")
        XCTAssertEqual(status, .exited(1), out)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 300, "the batch must finish: \(out)")
        XCTAssertTrue(out.contains("under a uid of each run's own"), out)
        XCTAssertFalse(out.contains("process limit is not enforced"), out)
        XCTAssertFalse(out.contains("grading in this machine's network"), out)
        // The phoner served as usual, but its call to this machine's loopback reached nothing.
        XCTAssertTrue(p.stdoutLines.contains { $0.hasPrefix("phoner ") && $0.contains("1/1 (100%)") }, out)
        _ = fcntl(outside.fd, F_SETFL, fcntl(outside.fd, F_GETFL) | O_NONBLOCK)
        let reached = accept(outside.fd, nil, nil)
        XCTAssertLessThan(reached, 0, "a graded program reached a listener outside the grading's network namespace")
        if reached >= 0 { close(reached) }

        // alice passes beside them. Those stopped by a limit before they could serve fail; the
        // others (a flood, a daemon, deafness to request_terminate) still serve, and are contained.
        XCTAssertTrue(p.stdoutLines.contains { $0.hasPrefix("alice ") && $0.contains("P  ") && $0.contains("1/1 (100%)") }, out)
        for h in ["forkbomb", "diskfiller", "porthog"] {
            XCTAssertTrue(p.stdoutLines.contains { $0.hasPrefix(h + " ") && $0.contains("0/1 (0%)") }, "\(h):\n\(out)")
        }
        func runDir(_ student: String) throws -> URL {
            let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: logs.path).first { $0.contains("-\(student)__") }, student)
            return logs.appendingPathComponent(name)
        }
        func record(_ student: String) throws -> String {
            try String(contentsOf: try runDir(student).appendingPathComponent("run.json"), encoding: .utf8)
        }
        // The process limit stopped the bomb: fork failed, and its report shows the traceback.
        let bomb = try record("forkbomb")
        XCTAssertTrue(bomb.contains("BlockingIOError"), "the fork bomb was not stopped by the process limit:\n\(bomb.prefix(3000))")
        // The output cap: the flood was dropped past 1 MiB and the run says so.
        XCTAssertTrue(out.contains("printed more than crc-cluster keeps"), out)
        // The file-size limit: the filler's file stopped at 8 MiB.
        let fills = try FileManager.default.subpathsOfDirectory(atPath: try runDir("diskfiller").path).filter { $0.hasSuffix("fill.bin") }
        XCTAssertFalse(fills.isEmpty, "the disk filler wrote nothing?")
        for f in fills {
            let size = try FileManager.default.attributesOfItem(atPath: try runDir("diskfiller").appendingPathComponent(f).path)[.size] as? Int ?? 0
            XCTAssertLessThanOrEqual(size, 8 << 20, f)
        }
        // The open-file limit: the hog ran out of descriptors (and could not even listen).
        let hog = try record("porthog")
        XCTAssertTrue(hog.contains("Too many open files"), String(hog.prefix(3000)))
        // Nothing of theirs outlives the grader: no sleeper, no stubborn server, no bomb child.
        XCTAssertTrue(Self.poll(timeout: 10) {
            Self.processes { $0.contains("sleep\u{0}917") || $0.contains(submissions.path) }.isEmpty
        }, "left behind: \(Self.processes { $0.contains("sleep\u{0}917") || $0.contains(submissions.path) })")
        XCTAssertTrue(Self.poll(timeout: 10) { Self.uidProcesses().isEmpty }, "processes of the sandbox's uids remain: \(Self.uidProcesses())")
    }

    /// Processes of the sandbox's uids (62000 – 63999), anywhere on the machine.
    static func uidProcesses() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let status = ProcFile.text("/proc/\(entry)/status"),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }),
                  let uid = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap({ Int($0) }) else { return nil }
            return (62_000..<64_000).contains(uid) && !(status.contains("State:\tZ")) ? pid : nil
        }
    }

    /// A scenario that would wait on and on (a server that swallows chats, checked with a long
    /// settle timeout) stops at its wall-clock limit, and says so.
    func testAScenarioStopsAtItsTimeLimit() throws {
        let dir = tmp.appendingPathComponent("submissions/swallower")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let base = try String(contentsOf: Self.fixture.appendingPathComponent("ChatServer.py"), encoding: .utf8)
        let old = "    def handle_chat(self, link, m):\n"
        XCTAssertTrue(base.contains(old))
        try base.replacingOccurrences(of: old, with: old + "        return\n").write(to: dir.appendingPathComponent("ChatServer.py"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("ChatMessageParser.py"), to: dir.appendingPathComponent("ChatMessageParser.py"))
        let t0 = Date()
        let p = try cluster(["grade", "--course-python", dir.path, "topologies/seed/4_2_Message_One_Hop.yaml", "--logs", tmp.appendingPathComponent("logs").path,
                             "--settle-timeout", "60", "--time-limit", "3"], in: tmp)
        XCTAssertEqual(p.waitForExit(timeout: 120), .exited(1))
        p.waitForEndOfOutput()
        let out = (p.stdoutLines + p.stderrLines).joined(separator: "\n")
        XCTAssertTrue(out.contains("exceeded its time limit of 3 s"), out)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 30, "it waited for the settle timeout instead: \(out)")
    }
}
