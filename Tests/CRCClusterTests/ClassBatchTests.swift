import CRCCluster
import CRCProcess
import Foundation
import XCTest

/// A whole class at once, and Gradescope: a batch of a correct, a wrong, a crashing and a hanging
/// submission yields the right table, CSV and HTML page; `--gradescope` writes results that pass
/// Gradescope's format; and `gradescope-kit` makes an autograder that grades a submission laid
/// out as Gradescope lays it out.
final class ClassBatchTests: ClusterTestCase {
    static var fixture: URL { root.appendingPathComponent("Tests/Fixtures/course_class") }
    static let scenarios = ["topologies/seed/4_2_Message_One_Hop.yaml", "topologies/seed/3_3_ThreeServers_FourClients.yaml"]

    func submission(_ name: String, in folder: String = "submissions", _ edit: ((String) -> String)? = nil) throws -> URL {
        let dir = tmp.appendingPathComponent("\(folder)/\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let source = try String(contentsOf: Self.fixture.appendingPathComponent("ChatServer.py"), encoding: .utf8)
        let edited = edit?(source) ?? source
        if edit != nil { XCTAssertNotEqual(edited, source, "\(name): the edit did not apply") }
        try edited.write(to: dir.appendingPathComponent("ChatServer.py"), atomically: true, encoding: .utf8)
        return dir
    }

    func starter() throws -> URL {
        let dir = tmp.appendingPathComponent("starter")
        if !FileManager.default.fileExists(atPath: dir.path) {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("ChatMessageParser.py"), to: dir.appendingPathComponent("ChatMessageParser.py"))
        }
        return dir
    }

    func weights() throws -> URL {
        let file = tmp.appendingPathComponent("weights.yaml")
        try "4_2_Message_One_Hop: 2\n3_3_ThreeServers_FourClients: {weight: 1, hidden: true}\n".write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func run(_ args: [String], timeout: TimeInterval = 300) throws -> (NodeProcess.ExitStatus?, [String]) {
        let p = try cluster(args, in: tmp)
        let status = p.waitForExit(timeout: timeout)
        p.waitForEndOfOutput()
        return (status, p.stdoutLines + p.stderrLines)
    }

    func testABatchOfACorrectAWrongACrashingAndAHangingSubmission() throws {
        _ = try submission("alice")
        _ = try submission("bob") { $0.replacingOccurrences(of: "        self.hosts_db[m.source_id] = ConnectionData(m.source_id, m.client_name, m.client_info, first, False)\n",
                                                            with: "        if adjacent:\n            self.hosts_db[m.source_id] = ConnectionData(m.source_id, m.client_name, m.client_info, first, False)\n") }
        _ = try submission("carol") { "import a_module_nobody_has\n" + $0 }
        _ = try submission("dave") { $0.replacingOccurrences(of: "    def run(self):\n", with: "    def run(self):\n        while not self.request_terminate: pass\n") }
        let students = ["alice", "bob", "carol", "dave"]
        let summary = tmp.appendingPathComponent("summary")
        let (status, lines) = try run(["grade"] + Self.scenarios + ["--course-python"] + students.map { "submissions/\($0)/" }
                                      + ["--starter", try starter().path, "--weights", try weights().path, "--summary", summary.path,
                                         "--logs", tmp.appendingPathComponent("logs").path, "--settle-timeout", "3"])
        let out = lines.joined(separator: "\n")
        XCTAssertEqual(status, .exited(1), out)
        // A progress line per run, and the batch went on past the broken ones.
        XCTAssertEqual(lines.filter { $0.hasPrefix("[") && $0.contains("/8] ") }.count, 8, out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("alice    P  P   3/3 (100%)") }, out)
        for s in ["bob", "carol", "dave"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix(s.padding(toLength: 9, withPad: " ", startingAt: 0) + "F  F   0/3 (0%)") }, "\(s):\n\(out)")
        }
        // Each failure says why: clients never told of the hosts it did not record, an import that
        // failed, a server that never listened.
        XCTAssertTrue(lines.contains { $0.contains("FAIL bob: 3_3_ThreeServers_FourClients") && $0.contains("never told") }, out)
        XCTAssertTrue(lines.contains { $0.contains("FAIL carol: ") && $0.contains("never became ready") }, out)
        XCTAssertTrue(lines.contains { $0.contains("FAIL dave: ") && $0.contains("never became ready") }, out)

        let csv = try String(contentsOf: summary.appendingPathComponent("summary.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.first, "student,submission,4_2_Message_One_Hop,3_3_ThreeServers_FourClients,passed,points,out_of")
        XCTAssertEqual(csv.count, 5)
        XCTAssertTrue(csv[1].hasPrefix("alice,") && csv[1].hasSuffix(",1,1,2,3,3"), csv[1])
        for (row, s) in zip(csv.dropFirst(2), ["bob", "carol", "dave"]) {
            XCTAssertTrue(row.hasPrefix("\(s),") && row.hasSuffix(",0,0,0,0,3"), row)
        }

        let html = try String(contentsOf: summary.appendingPathComponent("summary.html"), encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<tr><th>").count - 1, 1 + 4, "a heading row and one row per student")
        let links = try NSRegularExpression(pattern: "href=\"([^\"]+)\"").matches(in: html, range: NSRange(html.startIndex..., in: html))
            .map { String(html[Range($0.range(at: 1), in: html)!]) }
        XCTAssertEqual(links.count, 8, "one report per student and scenario")
        for link in links {
            XCTAssertTrue(FileManager.default.fileExists(atPath: summary.appendingPathComponent(link).standardizedFileURL.path), "\(link) does not resolve")
        }
        XCTAssertEqual(html.components(separatedBy: "class=\"pass\"").count - 1, 2)
    }

    /// Gradescope's results format, as its documentation gives it: every key known, every status
    /// and visibility one of its words.
    static let gradescopeSchema = """
    {"type": "object", "additionalProperties": false, "required": ["tests"],
     "properties": {
       "score": {"type": "number", "minimum": 0}, "execution_time": {"type": "number"},
       "output": {"type": "string"}, "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
       "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
       "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
       "extra_data": {"type": "object"},
       "tests": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["name", "status"],
         "properties": {"score": {"type": "number", "minimum": 0}, "max_score": {"type": "number", "minimum": 0},
           "status": {"enum": ["passed", "failed"]}, "name": {"type": "string", "minLength": 1}, "number": {"type": "string"},
           "output": {"type": "string"}, "tags": {"type": "array"},
           "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
           "name_format": {"type": "string"}, "output_format": {"type": "string"}}}},
       "leaderboard": {"type": "array"}}}
    """

    /// Validates results.json against Gradescope's format with Python's jsonschema; returns it decoded.
    func checkGradescope(_ file: URL) throws -> [String: Any] {
        try requireTool(FileManager.default.isExecutableFile(atPath: SchemaTests.python), "Python with jsonschema (\(SchemaTests.python))")
        let schema = tmp.appendingPathComponent("gradescope.schema.json")
        try Self.gradescopeSchema.write(to: schema, atomically: true, encoding: .utf8)
        let check = NodeProcess(name: "jsonschema", executable: SchemaTests.python, arguments: ["-c", """
            import json, sys, jsonschema
            jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))
            print("valid")
            """, schema.path, file.path])
        processes.append(check)
        try check.start()
        XCTAssertEqual(check.waitForExit(timeout: 60), .exited(0), check.stderrLines.joined(separator: "\n"))
        check.waitForEndOfOutput()
        XCTAssertEqual(check.stdoutLines, ["valid"], check.stderrLines.joined(separator: "\n"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
    }

    func testGradescopeResultsHaveWeightsHiddenScenariosAndTheFormat() throws {
        for (name, passes) in [("alice", true), ("bob", false)] {
            let dir = try submission(name) { passes ? $0 + "\n" : $0.replacingOccurrences(of: "            self.adjacent_user_ids.append(m.source_id)\n", with: "") }
            let results = tmp.appendingPathComponent("\(name).json")
            let (status, lines) = try run(["grade"] + Self.scenarios + ["--course-python", dir.path, "--starter", try starter().path,
                                            "--weights", try weights().path, "--gradescope", results.path,
                                            "--logs", tmp.appendingPathComponent("logs").path])
            XCTAssertEqual(status, .exited(passes ? 0 : 1), lines.joined(separator: "\n"))
            let json = try checkGradescope(results)
            XCTAssertEqual(json["score"] as? Double, passes ? 3 : 0, name)
            let tests = try XCTUnwrap(json["tests"] as? [[String: Any]])
            XCTAssertEqual(tests.map { $0["name"] as? String }, ["4_2_Message_One_Hop", "3_3_ThreeServers_FourClients"])
            XCTAssertEqual(tests.map { $0["max_score"] as? Double }, [2, 1])
            XCTAssertEqual(tests.map { $0["visibility"] as? String }, ["visible", "after_published"])
            XCTAssertEqual(tests.map { $0["status"] as? String }, passes ? ["passed", "passed"] : ["failed", "failed"])
            if !passes {
                XCTAssertTrue((tests[0]["output"] as? String ?? "").contains("adjacent_user_ids of theshire lacks 101"), "\(tests[0])")
            }
        }
    }

    func testTheGradescopeKitGradesASubmissionWhereGradescopePutsIt() throws {
        let kit = tmp.appendingPathComponent("kit")
        let (status, lines) = try run(["gradescope-kit", kit.path, "--starter", try starter().path, "--weights", try weights().path] + Self.scenarios)
        XCTAssertEqual(status, .exited(0), lines.joined(separator: "\n"))
        for f in ["setup.sh", "run_autograder", "bin/crc-cluster"] {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: kit.appendingPathComponent(f).path), f)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: kit.appendingPathComponent("starter/ChatMessageParser.py").path))
        XCTAssertTrue(try String(contentsOf: kit.appendingPathComponent("setup.sh"), encoding: .utf8).contains("apt-get install -y -qq python3 libyaml-0-2 libedit2"))

        // Gradescope's layout: /autograder/{source, submission, results}.
        for (case_, submitted) in [("good", true), ("empty", false)] {
            let ag = tmp.appendingPathComponent("autograder-\(case_)")
            try FileManager.default.createDirectory(at: ag.appendingPathComponent("submission"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: kit, to: ag.appendingPathComponent("source"))
            if submitted {
                try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("ChatServer.py"), to: ag.appendingPathComponent("submission/ChatServer.py"))
            }
            var env = ProcessInfo.processInfo.environment
            env["AUTOGRADER"] = ag.path
            env["CRC_CLUSTER"] = kit.appendingPathComponent("bin/crc-cluster").path
            let p = NodeProcess(name: "run_autograder", executable: ag.appendingPathComponent("source/run_autograder").path, arguments: [], environment: env)
            processes.append(p)
            try p.start()
            XCTAssertEqual(p.waitForExit(timeout: 300), .exited(0), (p.stdoutLines + p.stderrLines).joined(separator: "\n"))
            let json = try checkGradescope(ag.appendingPathComponent("results/results.json"))
            if submitted {
                XCTAssertEqual(json["score"] as? Double, 3)
                XCTAssertEqual((json["tests"] as? [Any])?.count, 2)
            } else {
                XCTAssertEqual(json["score"] as? Double, 0)
                XCTAssertTrue((json["output"] as? String ?? "").contains("no ChatServer.py"), "\(json)")
            }
        }
    }
}
