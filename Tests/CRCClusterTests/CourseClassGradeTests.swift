import CRCCluster
import CRCProcess
import CRCTesting
import Foundation
import XCTest

/// `crc-cluster grade --course-python` on submissions in the course's class form, from a folder
/// outside the checkout: a correct class passes every built-in scenario, and class-form mutants —
/// copies of it with one fault planted — each fail with a difference naming the fault and, where
/// the object shows it, the attribute the course grades.
final class CourseClassGradeTests: ClusterTestCase {
    static var fixture: URL { root.appendingPathComponent("Tests/Fixtures/course_class") }

    /// A submission folder holding ChatServer.py (optionally edited: each pair must change the file)
    /// and, unless `withStarter` is false, the starter module beside it.
    func submission(_ name: String, withStarter: Bool = true, edits: [(String, String)] = []) throws -> URL {
        let dir = tmp.appendingPathComponent("submissions/\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var source = try String(contentsOf: Self.fixture.appendingPathComponent("ChatServer.py"), encoding: .utf8)
        for (old, new) in edits {
            XCTAssertTrue(source.contains(old), "\(name): the mutation '\(old)' does not apply: the fixture changed")
            source = source.replacingOccurrences(of: old, with: new)
        }
        try source.write(to: dir.appendingPathComponent("ChatServer.py"), atomically: true, encoding: .utf8)
        if withStarter {
            try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("ChatMessageParser.py"),
                                             to: dir.appendingPathComponent("ChatMessageParser.py"))
        }
        return dir
    }

    /// `grade` run from an empty folder (so nothing of the checkout is found by accident).
    func grade(_ args: [String], timeout: TimeInterval = 300) throws -> (NodeProcess.ExitStatus?, String) {
        let cwd = tmp.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        let p = try cluster(["grade", "--logs", tmp.appendingPathComponent("logs").path] + args, in: cwd)
        let status = p.waitForExit(timeout: timeout)
        p.waitForEndOfOutput()
        return (status, (p.stdoutLines + p.stderrLines).joined(separator: "\n"))
    }

    func testACorrectClassSubmissionPassesEveryBuiltInScenario() throws {
        let alice = try submission("alice")
        let (status, out) = try grade(["--course-python", alice.path])
        let scenarios = try ScenarioRunner.expand(["seed", "conformance"].map { Self.root.appendingPathComponent("topologies/\($0)").path }).count
        XCTAssertGreaterThan(scenarios, 20)
        XCTAssertEqual(status, .exited(0), out)
        XCTAssertTrue(out.contains("score: \(scenarios)/\(scenarios) scenarios passed (100%)"), out)
    }

    /// The starter module found in a folder of its own, given with --starter; and its absence a
    /// clear error that names what to supply, before anything runs.
    func testTheStarterModuleIsFoundOrAskedFor() throws {
        let bob = try submission("bob", withStarter: false)
        let (status, out) = try grade(["--course-python", bob.path, "topologies/seed/4_2_Message_One_Hop.yaml"])
        XCTAssertEqual(status, .exited(64), out)
        XCTAssertTrue(out.contains("ChatMessageParser"), out)
        XCTAssertTrue(out.contains("--starter"), out)
        XCTAssertFalse(out.contains("PASS") || out.contains("FAIL"), "nothing may run: \(out)")

        let starter = tmp.appendingPathComponent("starter")
        try FileManager.default.createDirectory(at: starter, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("ChatMessageParser.py"), to: starter.appendingPathComponent("ChatMessageParser.py"))
        let (ok, out2) = try grade(["--course-python", bob.appendingPathComponent("ChatServer.py").path, "--starter", starter.path,
                                    "topologies/seed/4_2_Message_One_Hop.yaml"])
        XCTAssertEqual(ok, .exited(0), out2)

        let (none, out3) = try grade(["--course-python", tmp.appendingPathComponent("nobody").path])
        XCTAssertEqual(none, .exited(64), out3)
        XCTAssertTrue(out3.contains("no such file or folder"), out3)
    }

    struct Mutant {
        var name: String
        var edits: [(String, String)]
        var scenario: String
        /// What the report must say (the fault, and the attribute where the object shows it).
        var expected: [String]
    }

    static let mutants: [Mutant] = [
        // The object never records a client it hears of from another server, though it forwards it:
        // the wire is right, the object is not.
        Mutant(name: "forwarded-clients-not-recorded",
               edits: [("        self.hosts_db[m.source_id] = ConnectionData(m.source_id, m.client_name, m.client_info, first, False)\n",
                        "        if adjacent:\n            self.hosts_db[m.source_id] = ConnectionData(m.source_id, m.client_name, m.client_info, first, False)\n")],
               scenario: "topologies/seed/3_3_ThreeServers_FourClients.yaml",
               expected: ["hosts_db of rivendale lacks 101 (", "which reached it on the wire"]),
        // Its own clients are never listed as adjacent.
        Mutant(name: "adjacent-users-not-kept",
               edits: [("            self.adjacent_user_ids.append(m.source_id)\n", "")],
               scenario: "topologies/seed/3_2_OneServer_TwoClients.yaml",
               expected: ["adjacent_user_ids of theshire lacks 101 (", "which the wire shows as adjacent"]),
        // The status log under another name: the course's harness grades status_updates_log.
        Mutant(name: "status-log-renamed",
               edits: [("self.status_updates_log", "self.status_log")],
               scenario: "topologies/seed/5_2_DuplicateID_Server.yaml",
               expected: ["status_updates_log of ", "is not an attribute of the object"]),
        // Every host recorded as reached directly: routes go astray.
        Mutant(name: "first-link-always-the-source",
               edits: [("        first = m.source_id if adjacent else m.last_hop_id\n        self.hosts_db[m.source_id] = ConnectionData(m.source_id, m.server_name",
                        "        first = m.source_id\n        self.hosts_db[m.source_id] = ConnectionData(m.source_id, m.server_name")],
               scenario: "topologies/seed/2_2_FourServers.yaml",
               expected: ["hosts_db of ", " through ", "expected through "]),
        // A chat handler that raises: run() ends, and the traceback is in the report.
        Mutant(name: "chat-handler-raises",
               edits: [("    def handle_chat(self, link, m):\n", "    def handle_chat(self, link, m):\n        raise ValueError(\"planted: chats are not handled\")\n")],
               scenario: "topologies/seed/4_2_Message_One_Hop.yaml",
               // (Seen either as the host's exit or, a moment before it, through its state port.)
               expected: ["rivendale process: ", "Traceback (most recent call last):", "ValueError: planted: chats are not handled", "in handle_chat"]),
    ]

    func testEveryClassFormMutantFailsNamingItsFault() throws {
        for m in Self.mutants {
            let dir = try submission(m.name, edits: m.edits)
            let (status, out) = try grade(["--course-python", dir.path, m.scenario])
            XCTAssertEqual(status, .exited(1), "\(m.name) passed:\n\(out)")
            XCTAssertTrue(out.contains("score: 0/1"), "\(m.name):\n\(out)")
            for e in m.expected {
                XCTAssertTrue(out.contains(e), "\(m.name): the report does not say '\(e)':\n\(out)")
            }
        }
    }

    /// The course's client class too (`--course-python-client`): chats and quits reach it as the
    /// harness's calls, and its status_updates_log is checked beside the wire.
    func testClientClassesAreGradedToo() throws {
        let alice = try submission("alice")
        try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("ChatClient.py"), to: alice.appendingPathComponent("ChatClient.py"))
        let scenarios = ["topologies/seed/4_2_Message_One_Hop.yaml", "topologies/seed/6_2_ClientQuit_ThreeServers.yaml", "topologies/seed/5_4_UnknownID_Client.yaml"]
        let (ok, out) = try grade(["--course-python", alice.path, "--course-python-client", alice.path] + scenarios)
        XCTAssertEqual(ok, .exited(0), out)
        XCTAssertTrue(out.contains("score: 3/3"), out)

        // A client that keeps no status log: the wire carried the welcome, the object lost it.
        let bob = tmp.appendingPathComponent("clients/bob")
        try FileManager.default.createDirectory(at: bob, withIntermediateDirectories: true)
        let source = try String(contentsOf: Self.fixture.appendingPathComponent("ChatClient.py"), encoding: .utf8)
        let old = "                        self.status_updates_log.append(m.content)\n"
        XCTAssertTrue(source.contains(old))
        try source.replacingOccurrences(of: old, with: "                        pass\n").write(to: bob.appendingPathComponent("ChatClient.py"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("ChatMessageParser.py"), to: bob.appendingPathComponent("ChatMessageParser.py"))
        let (bad, out2) = try grade(["--course-python", alice.path, "--course-python-client", bob.path, scenarios[0]])
        XCTAssertEqual(bad, .exited(1), out2)
        XCTAssertTrue(out2.contains("status_updates_log of frodobaggins holds nothing, expected \"Welcome to the Clemson Relay Chat network frodobaggins\" (the wire carried the expected statuses to it)"), out2)
    }
}
