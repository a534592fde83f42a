import CRCExplore
import CRCProcess
import CRCTesting
import Foundation
import XCTest

/// `explore` as users run it, proven by the bugs it finds: three servers (copies of the course
/// stand-in with one line changed) that are right in the usual order and wrong in another. `test`
/// passes each; `explore` must find each within the budget below, shrink it to a schedule of a few
/// reorderings, and `test --replay` must reproduce it. crc-server, and the unchanged stand-in,
/// must survive the same budget.
final class ExploreTests: ClusterTestCase {
    /// The budget the planted bugs must be found within (PCT, seed 1).
    static let budget = "40"
    static let scenario = "topologies/seed/3_3_ThreeServers_FourClients.yaml"
    /// Two servers, a client on each: the smallest network with a hop.
    static let hubAndLeaf = """
        servers:
          - {id: 1, name: hub}
          - {id: 2, name: leaf, upstream: hub}
        clients:
          - {id: 101, name: ann, server: hub}
          - {id: 102, name: bob, server: leaf}

        """

    enum Mutant: String, CaseIterable {
        /// The state burst to a new neighbour server lists servers only ("clients register after
        /// the servers have joined"): a client that registers first is never told of.
        case burstWithoutClients
        /// A server takes its upstream's first registration as the answer to its own and sends
        /// nothing back: the clients that registered before it joined are never announced.
        case forgetsEarlyClients
        /// The burst passes clients on with the last hop they came with instead of its own id:
        /// the receiver records the wrong first link.
        case burstKeepsLastHop

        var change: (find: String, replace: String) {
            switch self {
            case .burstWithoutClients:
                return (#"            if hid != m["src"]: send(c, reg(0x00 if h["kind"] == "server" else 0x80, hid, ME, h["name"], h["info"]))"#,
                        #"            if hid != m["src"] and h["kind"] == "server": send(c, reg(0x00, hid, ME, h["name"], h["info"]))"#)
            case .forgetsEarlyClients:
                return (#"    adjacent = m["last"] == 0\#n    hosts[m["src"]] = dict(kind="server""#,
                        #"""
                            if m["last"] == 0 and c is globals().get("uc"):
                                hosts[m["src"]] = dict(kind="server", name=m["name"], info=m["info"], first=m["src"])
                                adj_servers[m["src"]] = c; c.peer = ("server", m["src"]); return
                            adjacent = m["last"] == 0
                            hosts[m["src"]] = dict(kind="server"
                        """#)
            case .burstKeepsLastHop:
                return (#"            if hid != m["src"]: send(c, reg(0x00 if h["kind"] == "server" else 0x80, hid, ME, h["name"], h["info"]))"#,
                        #"            if hid != m["src"]: send(c, reg(0x00 if h["kind"] == "server" else 0x80, hid, ME if h["kind"] == "server" else h["first"], h["name"], h["info"]))"#)
            }
        }
    }

    /// The course stand-in with `mutant`'s line changed (nil: unchanged).
    func server(_ mutant: Mutant?) throws -> URL {
        let original = try String(contentsOf: TestSupport.courseServer, encoding: .utf8)
        let file = tmp.appendingPathComponent("\(mutant?.rawValue ?? "course_server").py")
        guard let mutant else {
            try original.write(to: file, atomically: true, encoding: .utf8)
            return file
        }
        XCTAssertTrue(original.contains(mutant.change.find), "the line \(mutant) changes is not in course_server.py any more")
        try original.replacingOccurrences(of: mutant.change.find, with: mutant.change.replace).write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func run(_ args: [String], timeout: TimeInterval = 300) throws -> (status: NodeProcess.ExitStatus?, out: String) {
        let p = try cluster(args)
        let status = p.waitForExit(timeout: timeout)
        p.waitForEndOfOutput()
        return (status, (p.stdoutLines + p.stderrLines).joined(separator: "\n"))
    }

    func testExploreFindsEachPlantedBugAndShrinksItToAReplayableSchedule() throws {
        for mutant in Mutant.allCases {
            let server = try server(mutant)
            let command = "python3 \(server.path)"
            let logs = tmp.appendingPathComponent("logs-\(mutant)").path
            // The usual order passes.
            let usual = try run(["test", Self.scenario, "--logs", logs])
            XCTAssertEqual(usual.status, .exited(0), "\(mutant) must pass in the usual order:\n\(usual.out)")
            let graded = try run(["grade", "--server", command, Self.scenario, "--logs", logs, "--no-sandbox"])
            XCTAssertEqual(graded.status, .exited(0), "\(mutant) must pass grading in the usual order:\n\(graded.out)")

            let found = try run(["explore", Self.scenario, "--server", command, "--strategy", "pct", "--budget", Self.budget, "--logs", logs])
            XCTAssertEqual(found.status, .exited(1), "explore must find \(mutant) within \(Self.budget) runs:\n\(found.out)")
            XCTAssertTrue(found.out.contains("[1] PASS"), "the first run, the default order, passes:\n\(found.out)")
            let line = try XCTUnwrap(found.out.split(separator: "\n").first { $0.hasPrefix("shrunk from ") }, found.out)
            let to = try XCTUnwrap(Int(line.split(separator: " ")[5]), String(line))
            XCTAssertLessThanOrEqual(to, 3, "\(mutant) should shrink to a few reorderings: \(line)")
            XCTAssertGreaterThanOrEqual(to, 1, "a failure in no reordering would fail in the usual order: \(line)")
            let path = try XCTUnwrap(found.out.split(separator: "\n").first { $0.hasPrefix("schedule: ") }.map { String($0.dropFirst(10)) })
            let schedule = try Schedule.load(path)
            XCTAssertEqual(schedule.constraints.count, to)
            XCTAssertEqual(schedule.command, ["python3", server.path])
            XCTAssertNotNil(schedule.failure)
            // The report marks the reordered messages.
            let report = try String(contentsOfFile: (path as NSString).deletingLastPathComponent + "/report.html", encoding: .utf8)
            XCTAssertTrue(report.contains(" reordered\""), "no reordered arrow in the report")

            let replay = try run(["test", "--replay", path, "--logs", logs])
            XCTAssertEqual(replay.status, .exited(1), "the replay must fail as the exploration did:\n\(replay.out)")
            XCTAssertTrue(replay.out.contains("FAIL 3_3_ThreeServers_FourClients"), replay.out)
        }
    }

    /// `grade --explore` grades on orders too: a test more per scenario, failed for a planted
    /// bug (with the replay command), passed for the course's class form as it is.
    func testGradeExploreAddsAnOrdersTestPerScenario() throws {
        let logs = tmp.appendingPathComponent("logs").path
        let buggy = try server(.burstWithoutClients)
        let failing = try run(["grade", "--server", "python3 \(buggy.path)", Self.scenario, "--explore", Self.budget, "--no-sandbox", "--logs", logs])
        XCTAssertEqual(failing.status, .exited(1), failing.out)
        let rows = failing.out.split(separator: "\n").map(String.init)
        XCTAssertTrue(rows.contains { $0.hasPrefix("3_3_ThreeServers_FourClients ") && $0.contains("PASS") }, failing.out)
        XCTAssertTrue(rows.contains { $0.hasPrefix("3_3_ThreeServers_FourClients [orders]") && $0.contains("FAIL") && $0.contains("out of the usual order") }, failing.out)
        XCTAssertTrue(failing.out.contains("replay: crc-cluster test --replay "), failing.out)
        XCTAssertTrue(failing.out.contains("score: 1/2 scenarios passed"), failing.out)

        let fixture = Self.root.appendingPathComponent("Tests/Fixtures/course_class").path
        let passing = try run(["grade", "--course-python", fixture, "--explore", "5", "--no-sandbox", "--logs", logs, Self.scenario])
        XCTAssertEqual(passing.status, .exited(0), passing.out)
        XCTAssertTrue(passing.out.split(separator: "\n").contains { $0.hasPrefix("3_3_ThreeServers_FourClients [orders]") && $0.contains("PASS") }, passing.out)
        XCTAssertTrue(passing.out.contains("score: 2/2 scenarios passed"), passing.out)
    }

    /// A chat step is a choice too: it may go before the registrations the launch set in motion
    /// have arrived. Its sender's server then rightly answers "Unknown ID" — the check reads from
    /// the wire what that server knew when the chat came — and a server that remembers the answer
    /// for good (a negative cache) fails the next chat. `grade` passes it; `explore` finds it,
    /// shrinks it to the one reordering (the chat before the registration) and the replay fails.
    func testAChatRacingARegistrationIsJudgedByWhatTheServerKnew() throws {
        let scenario = tmp.appendingPathComponent("chat-twice.yaml")
        try ("name: chat-twice\n" + Self.hubAndLeaf + """
        steps:
          - chat: {from: ann, to: bob, text: "first"}
          - chat: {from: ann, to: bob, text: "second"}

        """).write(to: scenario, atomically: true, encoding: .utf8)
        let original = try String(contentsOf: TestSupport.courseServer, encoding: .utf8)
        let find = #"""
        def on_chat(c, m, raw):
            if m["dst"] in hosts and hosts[m["dst"]]["kind"] == "client": send_to_host(m["dst"], raw)
            else: send_to_host(m["src"], status(ME, m["src"], 0x01, "Unknown ID %d" % m["dst"]))
        """#
        XCTAssertTrue(original.contains(find), "on_chat is not in course_server.py as it was")
        let cache = tmp.appendingPathComponent("negative_cache.py")
        try original.replacingOccurrences(of: find, with: #"""
        def on_chat(c, m, raw):
            gone = globals().setdefault("unknown", set())
            if m["dst"] in hosts and hosts[m["dst"]]["kind"] == "client" and m["dst"] not in gone: send_to_host(m["dst"], raw)
            else: gone.add(m["dst"]); send_to_host(m["src"], status(ME, m["src"], 0x01, "Unknown ID %d" % m["dst"]))
        """#).write(to: cache, atomically: true, encoding: .utf8)
        let logs = tmp.appendingPathComponent("logs").path

        let usual = try run(["grade", "--server", "python3 \(cache.path)", scenario.path, "--logs", logs, "--no-sandbox"])
        XCTAssertEqual(usual.status, .exited(0), "the negative cache passes grading in the usual order:\n\(usual.out)")
        let found = try run(["explore", scenario.path, "--server", "python3 \(cache.path)", "--strategy", "pct", "--budget", Self.budget, "--logs", logs])
        XCTAssertEqual(found.status, .exited(1), "explore must find the negative cache within \(Self.budget) runs:\n\(found.out)")
        XCTAssertTrue(found.out.contains("FAIL in run "), found.out)
        XCTAssertTrue(found.out.contains("step 2 (chat ann → bob: second)"), "the second chat is the one that fails:\n\(found.out)")
        XCTAssertTrue(found.out.contains("shrunk from ") && found.out.contains(" to 1 in "), found.out)
        XCTAssertTrue(found.out.contains(#"reordered: chat 101 → 102 "first" up the link of ann, before client registration of 102"#), found.out)
        let path = try XCTUnwrap(found.out.split(separator: "\n").first { $0.hasPrefix("schedule: ") }.map { String($0.dropFirst(10)) })
        let replay = try run(["test", "--replay", path, "--logs", logs])
        XCTAssertEqual(replay.status, .exited(1), "the replay must fail as the exploration did:\n\(replay.out)")

        // The stand-in as it is survives the same budget, and some of its runs did meet the race:
        // an "Unknown ID" that the check accepted.
        let course = try server(nil)
        let kept = tmp.appendingPathComponent("kept").path
        let ok = try run(["explore", scenario.path, "--server", "python3 \(course.path)", "--strategy", "pct", "--budget", Self.budget,
                          "--keep-logs", "--logs", kept])
        XCTAssertEqual(ok.status, .exited(0), ok.out)
        XCTAssertTrue(ok.out.contains("no failure"), ok.out)
        let raced = try FileManager.default.contentsOfDirectory(atPath: kept).filter { run in
            let wire = (try? String(contentsOfFile: "\(kept)/\(run)/wire.jsonl", encoding: .utf8)) ?? ""
            return wire.contains("Unknown ID 102")
        }
        XCTAssertGreaterThan(raced.count, 0, "no run sent the first chat before hub knew bob")
    }

    /// A quit right after the launch is a choice too, once every server has joined: it may go
    /// while the quitter's registration is still on its way, and the network must end as in any
    /// order. crc-server and the stand-in pass; some runs did send the quit early.
    func testAQuitRacingRegistrationsEndsAsInAnyOrder() throws {
        let scenario = tmp.appendingPathComponent("quit-early.yaml")
        try ("name: quit-early\n" + Self.hubAndLeaf + """
        steps:
          - quit: {client: bob, text: "gone already"}
          - chat: {from: ann, to: bob, text: "too late"}

        """).write(to: scenario, atomically: true, encoding: .utf8)
        let course = try server(nil)
        for (label, args) in [("crc-server", [String]()), ("the stand-in", ["--server", "python3 \(course.path)"])] {
            let kept = tmp.appendingPathComponent("kept-\(label.count)").path
            let r = try run(["explore", scenario.path, "--strategy", "pct", "--budget", Self.budget, "--keep-logs", "--logs", kept] + args)
            XCTAssertEqual(r.status, .exited(0), "\(label):\n\(r.out)")
            XCTAssertTrue(r.out.contains("no failure"), r.out)
            let early = try FileManager.default.contentsOfDirectory(atPath: kept).filter { run in
                guard let s = try? Schedule.load("\(kept)/\(run)/schedule.json") else { return false }
                return s.decisions.contains { $0.kind == .command && $0.what == "quit bob" && $0.reordered }
            }
            XCTAssertGreaterThan(early.count, 0, "\(label): no run sent the quit before a registration was delivered")
        }
    }

    /// A server wrong in the usual order is not an order bug: said so, nothing to shrink.
    func testAFailureInTheDefaultOrderIsNotShrunk() throws {
        let original = try String(contentsOf: TestSupport.courseServer, encoding: .utf8)
        let find = #"        send(c, status(ME, m["src"], 0x00, "Welcome to the Clemson Relay Chat network %s" % m["name"]))"#
        XCTAssertTrue(original.contains(find))
        let file = tmp.appendingPathComponent("no_welcome.py")
        try original.replacingOccurrences(of: find, with: "        pass").write(to: file, atomically: true, encoding: .utf8)
        let r = try run(["explore", Self.scenario, "--server", "python3 \(file.path)", "--budget", "5", "--settle-timeout", "2",
                         "--logs", tmp.appendingPathComponent("logs").path])
        XCTAssertEqual(r.status, .exited(1), r.out)
        XCTAssertTrue(r.out.contains("FAIL in run 1"), r.out)
        XCTAssertTrue(r.out.contains("it fails in the default order, with no reordering"), r.out)
        XCTAssertFalse(r.out.contains("shrinking"), r.out)
    }

    /// What the planted bugs must not be: failures any implementation would show. The stand-in
    /// as it is, and crc-server, pass the same budget; crc-server also a shorter one on every seed
    /// and conformance scenario.
    func testCorrectServersSurviveTheSameBudget() throws {
        let logs = tmp.appendingPathComponent("logs").path
        let course = try server(nil)
        for args in [["--server", "python3 \(course.path)"], []] {
            let r = try run(["explore", Self.scenario, "--strategy", "pct", "--budget", Self.budget, "--logs", logs] + args)
            XCTAssertEqual(r.status, .exited(0), r.out)
            XCTAssertTrue(r.out.contains("explored \(Self.budget) schedules"), r.out)
            XCTAssertTrue(r.out.contains("no failure"), r.out)
        }
        let files = try ["seed", "conformance"].flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("topologies/\(folder)").path)
                .filter { $0.hasSuffix(".yaml") }.sorted().map { "topologies/\(folder)/\($0)" }
        }
        XCTAssertEqual(files.count, 24)
        let failures = Shared<[String]>([])
        let binary = Self.binDir.appendingPathComponent("crc-cluster").path, root = Self.root
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            // Two at a time (concurrentPerform's width on this machine); each stopped however it ends.
            let p = NodeProcess(name: "crc-cluster", executable: binary, arguments: ["explore", files[i], "--strategy", "pct", "--budget", "6", "--logs", logs],
                                workingDirectory: root)
            defer { p.stop(grace: 2) }
            guard (try? p.start()) != nil else { return failures.append("\(files[i]): could not start crc-cluster") }
            let status = p.waitForExit(timeout: 600)
            p.waitForEndOfOutput()
            let out = (p.stdoutLines + p.stderrLines).joined(separator: "\n")
            if status != .exited(0) || !out.contains("no failure") { failures.append("\(files[i]):\n\(out)") }
        }
        XCTAssertEqual(failures.value, [], "crc-server must survive exploration:\n" + failures.value.joined(separator: "\n"))
    }

    /// Exhaustive search ends on a small scenario (crc-server: nothing fails).
    func testExhaustiveSearchRunsEveryScheduleOfASmallScenario() throws {
        let scenario = tmp.appendingPathComponent("tiny.yaml")
        try ("name: tiny\n" + Self.hubAndLeaf).write(to: scenario, atomically: true, encoding: .utf8)
        let r = try run(["explore", scenario.path, "--strategy", "exhaustive", "--budget", "400", "--logs", tmp.appendingPathComponent("logs").path])
        XCTAssertEqual(r.status, .exited(0), r.out)
        XCTAssertTrue(r.out.contains("every schedule there is (up to reduction) was run"), r.out)
        let line = try XCTUnwrap(r.out.split(separator: "\n").first { $0.hasPrefix("explored ") }, r.out)
        let runs = try XCTUnwrap(Int(line.split(separator: " ")[1]))
        // 460 schedules without the reduction (measured: docs/explore.md); far fewer with it.
        XCTAssertGreaterThan(runs, 20, String(line))
        XCTAssertLessThan(runs, 400, String(line))
    }

    func testBadInputIsRefusedPlainly() throws {
        let r = try run(["explore", Self.scenario, "--budget", "soon"])
        XCTAssertEqual(r.status, .exited(64), r.out)
        XCTAssertTrue(r.out.contains("--budget takes a number of runs (200) or a time (30s, 2m, 1m30s), not 'soon'"), r.out)
        let nowhere = try run(["explore", Self.scenario, "--budget", "1", "--logs", "/proc/no-such-folder"])
        XCTAssertEqual(nowhere.status, .exited(2), nowhere.out)
        XCTAssertTrue(nowhere.out.contains("cannot create the log folder"), nowhere.out)
        XCTAssertFalse(nowhere.out.contains("schedule:"), "nothing ran, so no schedule: \(nowhere.out)")
        let missing = try run(["test", "--replay", tmp.appendingPathComponent("none.json").path])
        XCTAssertEqual(missing.status, .exited(2), missing.out)
        XCTAssertTrue(missing.out.contains("cannot read the schedule"), missing.out)
    }
}

/// A value shared by the threads of a test.
final class Shared<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func append<E>(_ e: E) where T == [E] { lock.withLock { stored.append(e) } }
}
