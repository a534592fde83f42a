import CRCCluster
import Foundation
import XCTest
import CRCContract
import CRCProcess

/// What a teacher does with crc-cluster: drive a network from `up`'s console, play a demo, and
/// hand out the report of a run, checked in a real browser.
final class TeachingTests: ClusterTestCase {
    /// `up` with commands on a pipe, as a scripted demo: the path of a chat by name, a tree path,
    /// a netsplit with what each side lost, a server's state, and a clean exit.
    func testTheConsoleFromAPipe() throws {
        let up = try cluster(["up", "topologies/tree.yaml", "--logs", tmp.appendingPathComponent("logs").path, "--no-color"])
        for line in ["chat frodo aragorn hi", "path gimli eowyn", "kill rivendale", "state theshire", "exit"] { up.send(line: line) }
        XCTAssertEqual(up.waitForExit(timeout: 60), .exited(0), (up.stdoutLines + up.stderrLines).joined(separator: "\n"))
        up.waitForEndOfOutput()
        let lines = up.stdoutLines
        let out = lines.joined(separator: "\n")
        // The chat's path, hop by hop, by name, with timings.
        XCTAssertTrue(lines.contains { $0.hasPrefix("  frodo → theshire → grey_havens → minastirith → aragorn   (4 hops, ") }, out)
        XCTAssertTrue(lines.contains { $0.contains(" ms  grey_havens → minastirith") }, out)
        XCTAssertTrue(out.contains("[frodo → aragorn] hi"), out)
        // The tree path, nothing sent.
        XCTAssertTrue(out.contains("  gimli → moria → rivendale → theshire → grey_havens → edoras → eowyn   (6 hops, the tree's path; nothing sent)"), out)
        // The netsplit and what each side lost.
        XCTAssertTrue(out.contains("the network is now 3 trees (a netsplit)"), out)
        XCTAssertTrue(out.contains("side of theshire (4 servers, 4 clients): forgot rivendale (2), lothlorien (4), moria (5), elrond (103), galadriel (104), gimli (105)"), out)
        XCTAssertTrue(lines.contains { $0.contains("converged") && $0.contains("after kill rivendale") }, out)
        // theshire's state, readable.
        XCTAssertTrue(out.contains("theshire (server 1)\n  adjacent servers: grey_havens (3)\n  adjacent clients: frodo (101), sam (102)\n  hosts (7)"), out)
        // crc-cluster's own polling never shows.
        XCTAssertFalse(out.contains("digest"), out)
        // Nothing left behind.
        for pid in nodePIDs(Array(lines.drop { !$0.hasPrefix("NODE") })) { XCTAssertFalse(alive(pid), "node \(pid) outlived up") }
        let report = try XCTUnwrap(lines.last { $0.contains("report: ") })
        XCTAssertTrue(report.hasSuffix("report.html)"), report)
    }

    /// `--play` walks through the demo's steps; a wrong command gets a plain answer.
    func testPlayingTheDemo() throws {
        let up = try cluster(["up", "topologies/demo.yaml", "--play", "--pace", "0", "--logs", tmp.appendingPathComponent("logs").path, "--no-color"])
        up.send(line: "frobnicate")
        up.send(line: "exit")
        XCTAssertEqual(up.waitForExit(timeout: 90), .exited(0), (up.stdoutLines + up.stderrLines).joined(separator: "\n"))
        up.waitForEndOfOutput()
        let out = up.stdoutLines.joined(separator: "\n")
        XCTAssertTrue(out.contains("step 1/8: start bilbo"), out)
        XCTAssertTrue(out.contains("bilbo joined lothlorien"), out)
        XCTAssertTrue(out.contains("  bilbo → lothlorien → rivendale → theshire → grey_havens → minastirith → aragorn   (6 hops, "), out)
        XCTAssertTrue(out.contains("frodo → theshire: id 999 is unknown; theshire answered \"Unknown ID 999\""), out)
        XCTAssertTrue(out.contains("the network is now 2 trees (a netsplit)"), out)
        XCTAssertTrue(out.contains("gimli → moria: id 107 is unknown; moria answered \"Unknown ID 107\""), out)
        XCTAssertTrue(out.contains("the network is now 1 tree (rejoined)"), out)
        XCTAssertTrue(out.contains("[gimli → aragorn] Together again"), out)
        XCTAssertTrue(out.contains("all 8 steps played"), out)
        XCTAssertTrue(out.contains("unknown command 'frobnicate' (type help for the list)"), out)
        XCTAssertFalse(out.contains("NOT converged"), out)
    }

    static func chromium() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func runChromium(_ browser: String, _ args: [String]) throws -> (String, String) {
        let p = NodeProcess(name: "chromium", executable: browser,
                            arguments: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                                        "--user-data-dir=\(tmp.appendingPathComponent("chromium-profile").path)"] + args)
        processes.append(p)
        try p.start()
        XCTAssertNotNil(p.waitForExit(timeout: 120), "chromium did not finish")
        p.waitForEndOfOutput()
        return (p.stdoutLines.joined(separator: "\n"), p.stderrLines.joined(separator: "\n"))
    }

    /// The report of a run, in a real browser: the tree's nodes, one arrow per message on the wire,
    /// a chat's path highlighted in both pictures after a click, no script errors, and a screenshot
    /// that is not blank.
    func testTheReportInHeadlessChromium() throws {
        try requireTool(Self.chromium() != nil, "chromium")
        let browser = Self.chromium()!
        let logs = tmp.appendingPathComponent("logs")
        let t = try cluster(["test", "topologies/tree.yaml", "--logs", logs.path])
        XCTAssertEqual(t.waitForExit(timeout: 120), .exited(0), t.stdoutLines.joined(separator: "\n"))
        let run = logs.appendingPathComponent("latest").resolvingSymlinksInPath()
        let report = run.appendingPathComponent("report.html")
        XCTAssertTrue(FileManager.default.fileExists(atPath: report.path))
        let wire = try String(contentsOf: run.appendingPathComponent("wire.jsonl"), encoding: .utf8)
        let messages = wire.split(separator: "\n").filter { !$0.contains("\"type\":\"closed\"") }.count
        XCTAssertGreaterThan(messages, 100)

        let (dom, errors) = try runChromium(browser, ["--virtual-time-budget=5000", "--dump-dom", report.absoluteString + "#selftest"])
        let start = try XCTUnwrap(dom.range(of: "<pre id=\"selftest-result\">"), "no self-test result in the DOM: \(errors)")
        let json = String(dom[start.upperBound...].prefix { $0 != "<" })
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertEqual(result["nodes"] as? Int, 14, json)     // 7 servers, 7 clients
        XCTAssertEqual(result["edges"] as? Int, 13, json)
        XCTAssertEqual(result["arrows"] as? Int, messages, json)
        XCTAssertEqual(result["chats"] as? Int, 2, json)
        // The first chat, gimli → aragorn, crosses six links.
        XCTAssertEqual(result["highlightedArrows"] as? Int, 6, json)
        XCTAssertEqual(result["highlightedEdges"] as? Int, 6, json)
        XCTAssertEqual(Set(result["highlightedNodes"] as? [String] ?? []),
                       ["gimli", "moria", "rivendale", "theshire", "grey_havens", "minastirith", "aragorn"], json)
        XCTAssertEqual((result["errors"] as? [String])?.count, 0, json)

        // A screenshot, against one of a blank page taken the same way.
        let shot = tmp.appendingPathComponent("report.png"), blank = tmp.appendingPathComponent("blank.png")
        _ = try runChromium(browser, ["--window-size=1400,1000", "--screenshot=\(shot.path)", report.absoluteString])
        let empty = tmp.appendingPathComponent("empty.html")
        try "<!DOCTYPE html><html><body></body></html>".write(to: empty, atomically: true, encoding: .utf8)
        _ = try runChromium(browser, ["--window-size=1400,1000", "--screenshot=\(blank.path)", empty.absoluteString])
        let shotSize = (try FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        let blankSize = (try FileManager.default.attributesOfItem(atPath: blank.path)[.size] as? Int) ?? 0
        XCTAssertGreaterThan(blankSize, 0)
        XCTAssertGreaterThan(shotSize, blankSize * 5, "the report's screenshot looks blank (\(shotSize) bytes, a blank page \(blankSize))")
        if let dest = ProcessInfo.processInfo.environment["CRC_SAVE_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: dest)
            try FileManager.default.copyItem(at: shot, to: URL(fileURLWithPath: dest))
        }

        // `report` rebuilds the page from the folder; a folder that is not a run is refused plainly.
        try FileManager.default.removeItem(at: report)
        let again = try cluster(["report", run.path])
        XCTAssertEqual(again.waitForExit(timeout: 30), .exited(0), again.stderrLines.joined(separator: "\n"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: report.path))
        let bad = try cluster(["report", tmp.path])
        XCTAssertEqual(bad.waitForExit(timeout: 30), .exited(1))
        bad.waitForEndOfOutput()
        XCTAssertTrue(bad.stderrLines.joined().contains("has no run.json"), bad.stderrLines.joined())
    }
}

