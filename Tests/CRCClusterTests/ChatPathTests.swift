import CRCCluster
import Foundation
import XCTest

/// Every chat's path by name: the one the tree prescribes, and the one the servers logged.
final class ChatPathTests: ClusterTestCase {
    func testPathsAreShownByNameAndWrittenToPathsTxt() throws {
        let logs = tmp.appendingPathComponent("logs")
        let p = try cluster(["test", "topologies/tree.yaml", "-v", "--logs", logs.path])
        XCTAssertEqual(p.waitForExit(timeout: 60), .exited(0))
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        let path = "gimli → moria → rivendale → theshire → grey_havens → minastirith → aragorn"
        XCTAssertTrue(out.contains("chat \(path)"), out)
        let run = logs.appendingPathComponent("latest").resolvingSymlinksInPath()
        let text = try String(contentsOf: run.appendingPathComponent("paths.txt"), encoding: .utf8)
        XCTAssertTrue(text.contains("  expected  \(path)\n  observed  \(path)\n"), text)
        XCTAssertTrue(text.contains("answered by theshire"), text)
        XCTAssertFalse(text.contains("DIFFERS"), text)

        // Untapped, the paths come from the servers' routing events, and each server's log is
        // audited for exactly the chats (and unknown-id answers) its place on the paths implies.
        let untapped = try cluster(["test", "topologies/tree.yaml", "--no-tap", "--logs", logs.path])
        XCTAssertEqual(untapped.waitForExit(timeout: 60), .exited(0), untapped.stdoutLines.joined(separator: "\n"))
        let run2 = logs.appendingPathComponent("latest").resolvingSymlinksInPath()
        XCTAssertFalse(FileManager.default.fileExists(atPath: run2.appendingPathComponent("wire.jsonl").path))
        let text2 = try String(contentsOf: run2.appendingPathComponent("paths.txt"), encoding: .utf8)
        XCTAssertTrue(text2.contains("  expected  \(path)\n  observed  \(path)\n"), text2)
    }

    func testAWrongHopShowsWhereThePathBroke() throws {
        let t = try TopologyLoader.load(path: Self.root.appendingPathComponent("topologies/tree.yaml").path)
        var model = NetworkModel(topology: t)
        for n in t.servers.map(\.name) + t.clients.map(\.name) { _ = model.start(n) }
        let chat = ChatRecord(from: "frodo", sourceID: 101, to: "aragorn", destinationID: 107, text: "hi",
                              outcome: model.chat(from: "frodo", to: "aragorn", text: "hi"))
        XCTAssertEqual(chat.expectedPath, "frodo → theshire → grey_havens → minastirith → aragorn")
        var seen = ObservedPaths()
        seen.record(server: "theshire", source: 101, destination: 107, nextHop: 2)  // to rivendale: wrong
        XCTAssertEqual(seen.path(of: chat, in: t), "frodo → theshire → rivendale → ✗ (no next hop logged by rivendale)")
        seen.record(server: "theshire", source: 101, destination: 107, nextHop: 3)
        seen.record(server: "grey_havens", source: 101, destination: 107, nextHop: 7)
        seen.record(server: "minastirith", source: 101, destination: 107, nextHop: 107)
        XCTAssertEqual(seen.path(of: chat, in: t), chat.expectedPath)
    }
}
