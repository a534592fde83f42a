import CRCCluster
import CRCTesting
import Foundation
import XCTest
import CRCProcess

/// `crc-cluster grade` on a course-style server (`../shared/foreign/course_server.py`, a stand-in
/// for a student's implementation): the correct one passes everything, and a grader is proven by
/// the wrong ones it rejects, so each mutant below must fail with a difference that names its fault.
final class GradeTests: ClusterTestCase {
    static var courseServer: URL { TestSupport.courseServer }

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard FileManager.default.fileExists(atPath: Self.courseServer.path) else {
            throw XCTSkip("course_server.py not found at \(Self.courseServer.path)")
        }
    }

    func grade(_ server: String, _ args: [String], timeout: TimeInterval = 300) throws -> (NodeProcess.ExitStatus?, String) {
        let p = try cluster(["grade", "--server", server, "--logs", tmp.appendingPathComponent("logs").path] + args)
        let status = p.waitForExit(timeout: timeout)
        p.waitForEndOfOutput()
        return (status, (p.stdoutLines + p.stderrLines).joined(separator: "\n"))
    }

    func testTheCourseServerPassesTheSeedAndConformanceScenariosAloneAndMixed() throws {
        let junit = tmp.appendingPathComponent("grade.xml").path
        let (status, out) = try grade("python3 \(Self.courseServer.path)", ["--mixed", "--junit", junit])
        // The failing scenarios last: CI shows the end of a failure's message.
        let failing = out.split(separator: "\n").filter { $0.contains(" FAIL ") }.joined(separator: "\n")
        XCTAssertEqual(status, .exited(0), out + "\n--- failing scenarios:\n" + failing)
        // The seed and conformance scenarios, plus two mixed runs (theirs first, ours first) of
        // each with more than one server: counted from the files.
        let scenarios = try ScenarioRunner.expand(["seed", "conformance"].map { Self.root.appendingPathComponent("topologies/\($0)").path })
            .map { try TopologyLoader.load(path: $0) }
        let runs = scenarios.count + 2 * scenarios.filter { $0.servers.count > 1 }.count
        XCTAssertGreaterThan(runs, 24)
        let score = out.split(separator: "\n").first { $0.hasPrefix("score: ") }.map(String.init) ?? ""
        XCTAssertTrue(score.hasPrefix("score: \(runs)/\(runs) scenarios passed (100%)"), score + "\n" + failing)
        XCTAssertTrue(out.contains("PASS late-joins (mixed, theirs first)"), out)
        XCTAssertTrue(out.contains("PASS late-joins (mixed, ours first)"), out)
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        XCTAssertTrue(xml.contains("tests=\"\(runs)\" failures=\"0\""), xml.split(separator: "\n").filter { $0.contains("<failure") || $0.contains("<testsuite ") }.joined(separator: "\n"))
        // Every message of every link is on record.
        let logs = tmp.appendingPathComponent("logs")
        let run = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: logs.path).first { $0.contains("4_3_Message_Three_Hops") && !$0.contains("mixed") })
        let wire = try String(contentsOf: logs.appendingPathComponent(run).appendingPathComponent("wire.jsonl"), encoding: .utf8)
        XCTAssertTrue(wire.contains("\"type\":\"chat\""), wire)
        XCTAssertTrue(wire.contains("\"from\":\"sauron\""), wire)
    }

    struct Mutant {
        var name: String
        var find: String
        var replace: String
        var scenario: String
        var expected: [String]
    }

    static let mutants = [
        Mutant(name: "no last-hop rewrite",
               find: #"fwd = reg(0x80, m["src"], ME, m["name"], m["info"])"#,
               replace: #"fwd = reg(0x80, m["src"], m["last"], m["name"], m["info"])"#,
               scenario: "topologies/seed/3_3_ThreeServers_FourClients.yaml",
               expected: ["last hop: forwarded the client registration of", "expected its own id"]),
        Mutant(name: "chats flooded to every server",
               find: #"if m["dst"] in hosts and hosts[m["dst"]]["kind"] == "client": send_to_host(m["dst"], raw)"#,
               replace: #"if m["dst"] in hosts and hosts[m["dst"]]["kind"] == "client": to_servers(raw, skip=hosts[m["src"]]["first"]); send(adj_clients.get(m["dst"]), raw)"#,
               scenario: "topologies/seed/4_3_Message_Three_Hops.yaml",
               expected: ["chat path: chat sauron → 103", "which is not on its path"]),
        Mutant(name: "quits not forwarded to servers",
               find: #"to_servers(raw, skip=hosts[m["src"]]["first"]); to_clients(raw, skip=m["src"])"#,
               replace: #"to_clients(raw, skip=m["src"])"#,
               scenario: "topologies/seed/6_2_ClientQuit_ThreeServers.yaml",
               expected: ["quit: quit of", "never crossed"]),
        Mutant(name: "duplicate client ids accepted",
               find: "if m[\"src\"] in hosts or m[\"src\"] == ME:\n        send(c, status(ME, 0, 0x02, \"Someone",
               replace: "if False:\n        send(c, status(ME, 0, 0x02, \"Someone",
               scenario: "topologies/seed/5_3_DuplicateID_Client.yaml",
               expected: ["was expected to be refused"]),
        Mutant(name: "no welcome",
               find: #"send(c, status(ME, m["src"], 0x00, "Welcome to the Clemson Relay Chat network %s" % m["name"]))"#,
               replace: "pass",
               scenario: "topologies/seed/5_1_WelcomeStatus.yaml",
               expected: ["was expected to be welcomed"]),
        Mutant(name: "no state burst to a new server",
               find: #"if hid != m["src"]: send(c, reg(0x00 if h["kind"] == "server" else 0x80, hid, ME, h["name"], h["info"]))"#,
               replace: "pass",
               scenario: "topologies/conformance/late-joins.yaml",
               expected: ["root registration: never told", "can learn only from root (its state burst or a forward)"]),
        Mutant(name: "unknown ids not answered",
               find: #"else: send_to_host(m["src"], status(ME, m["src"], 0x01, "Unknown ID %d" % m["dst"]))"#,
               replace: "else: pass",
               scenario: "topologies/seed/5_4_UnknownID_Client.yaml",
               expected: ["unknown destination:", "statuses reached"]),
    ]

    /// Each mutant is the course server with one fault planted; grading it must fail, and the
    /// report must name the fault.
    func testEveryMutantFailsWithADifferenceThatNamesItsFault() throws {
        let original = try String(contentsOf: Self.courseServer, encoding: .utf8)
        for m in Self.mutants {
            XCTAssertTrue(original.contains(m.find), "\(m.name): the code to mutate is not in course_server.py any more")
            let file = tmp.appendingPathComponent("mutant-\(m.name.replacingOccurrences(of: " ", with: "-")).py")
            try original.replacingOccurrences(of: m.find, with: m.replace).write(to: file, atomically: true, encoding: .utf8)
            let (status, out) = try grade("python3 \(file.path)", [m.scenario, "--settle-timeout", "2"], timeout: 120)
            XCTAssertEqual(status, .exited(1), "\(m.name) passed the grader:\n\(out)")
            XCTAssertTrue(out.contains("score: 0/1"), "\(m.name):\n\(out)")
            for phrase in m.expected {
                XCTAssertTrue(out.contains(phrase), "\(m.name): the report does not say \"\(phrase)\":\n\(out)")
            }
        }
    }

    /// The strict profile does not forgive the course servers' echoes; the default course profile does.
    func testTheStrictProfileRejectsTheCourseServersEchoes() throws {
        let (status, out) = try grade("python3 \(Self.courseServer.path)",
                                      ["topologies/seed/2_3_ElevenServers.yaml", "--wire-profile", "strict", "--settle-timeout", "2"])
        XCTAssertEqual(status, .exited(1), out)
        XCTAssertTrue(out.contains("more than once on the same link") || out.contains("which is on its side of the tree"), out)
    }

    /// A graded client: given the seed client's options, driven by stdin lines, checked from the wire.
    /// crc-client stands in for a student's client; told the wrong chat command, it sends nothing,
    /// and the grader says which hop never saw the chat.
    func testAGradedClientIsDrivenThroughStdinAndCheckedFromTheWire() throws {
        let client = Self.binDir.appendingPathComponent("crc-client").path
        let scenarios = ["topologies/seed/4_3_Message_Three_Hops.yaml", "topologies/seed/6_2_ClientQuit_ThreeServers.yaml"]
        let (status, out) = try grade("python3 \(Self.courseServer.path)", ["--client", client] + scenarios)
        XCTAssertEqual(status, .exited(0), out)
        XCTAssertTrue(out.contains("score: 2/2"), out)

        let (bad, badOut) = try grade("python3 \(Self.courseServer.path)",
                                      ["--client", client, "--client-chat", "say {text}", "--settle-timeout", "2", scenarios[0]])
        XCTAssertEqual(bad, .exited(1), badOut)
        XCTAssertTrue(badOut.contains("chat path: chat sauron → 103 \"\"Testing 1 2 3 4 5 6 7\"\" never crossed sauron → barad-dur"), badOut)
    }

    /// Implementations with other flag names: an argument template.
    func testAnArgumentTemplateAdaptsOtherFlagNames() throws {
        // A wrapper that takes short flags and calls the course server with the seed's.
        let wrapper = tmp.appendingPathComponent("short-flags.sh")
        try """
        #!/bin/sh
        while [ $# -gt 0 ]; do case "$1" in
          -i) id=$2;; -n) name=$2;; -d) info=$2;; -p) port=$2;; -u) up=$2;; -l) log=$2;; esac; shift 2; done
        set -- --id "$id" --servername "$name" --info "$info" --port "$port" --log-file "$log"
        [ -n "$up" ] && set -- "$@" --connect_to_host 127.0.0.1 --connect_to_port "$up"
        exec python3 "\(Self.courseServer.path)" "$@"
        """.write(to: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper.path, 0o755)
        let (status, out) = try grade(wrapper.path, ["--server-args=-i {id} -n {name} -d {info} -p {port} -u {upstream_port} -l {log_file}",
                                                     "topologies/seed/4_2_Message_One_Hop.yaml"])
        XCTAssertEqual(status, .exited(0), out)
        XCTAssertTrue(out.contains("score: 1/1"), out)

        let (bad, badOut) = try grade(wrapper.path, ["--server-args=-i {ident}", "topologies/seed/4_2_Message_One_Hop.yaml"])
        XCTAssertEqual(bad, .exited(64), badOut)
        XCTAssertTrue(badOut.contains("unknown placeholder {ident}"), badOut)
    }
}
