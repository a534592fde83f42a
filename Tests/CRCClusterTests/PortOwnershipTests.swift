import CRCCluster
import CRCTesting
import Foundation
import XCTest
import CRCProcess

/// Another implementation's server is told its port, so crc-cluster picks one; with scenarios
/// side by side, two picks met once and the second server was taken as ready because the first
/// one answered on its port (then its bind failed and the scenario failed for nothing).
final class PortOwnershipTests: XCTestCase {
    func testPicksAreBelowTheEphemeralRangeAndNeverRepeatedInAProcess() throws {
        var seen = Set<Int>()
        for _ in 0..<2_000 {
            let port = try PortOwnership.pick()
            XCTAssertTrue((20_000..<32_768).contains(port), "\(port)")
            XCTAssertTrue(seen.insert(port).inserted, "port \(port) handed out twice")
        }
    }

    /// A port that answers is ready only for the process group that listens on it.
    func testAPortIsOwnedOnlyByTheGroupThatListensOnIt() throws {
        let port = try PortOwnership.pick()
        let script = "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',\(port))); s.listen(1); print('up', flush=True); time.sleep(60)"
        let listener = NodeProcess(name: "listener", executable: "/usr/bin/env", arguments: ["python3", "-c", script])
        try listener.start()
        defer { listener.signalGroup(SIGKILL) }
        XCTAssertNotNil(listener.waitForLine(timeout: 10) { $0 == "up" }, listener.stderrLines.joined(separator: "\n"))
        XCTAssertTrue(BlockingSocket.accepts(port: port))
        XCTAssertEqual(PortOwnership.groupListens(listener.pid, on: port), true)
        // Another process (its own group) that holds no socket on the port: not its listener.
        let bystander = NodeProcess(name: "bystander", executable: "/bin/sleep", arguments: ["60"])
        try bystander.start()
        defer { bystander.signalGroup(SIGKILL) }
        XCTAssertEqual(PortOwnership.groupListens(bystander.pid, on: port), false)
        // A wrapper (a shell running the server as its child) owns what its child listens on.
        let wrapped = try PortOwnership.pick()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("listen-\(wrapped).py")
        try script.replacingOccurrences(of: "\(port)", with: "\(wrapped)").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let wrapper = NodeProcess(name: "wrapper", executable: "/bin/sh", arguments: ["-c", "python3 \(file.path); true"])
        try wrapper.start()
        defer { wrapper.signalGroup(SIGKILL) }
        XCTAssertNotNil(wrapper.waitForLine(timeout: 10) { $0 == "up" }, wrapper.stderrLines.joined(separator: "\n"))
        XCTAssertEqual(PortOwnership.groupListens(wrapper.pid, on: wrapped), true)
        XCTAssertEqual(PortOwnership.groupListens(listener.pid, on: wrapped), false)
        // A port nobody listens on belongs to no one.
        let free = try PortOwnership.pick()
        XCTAssertEqual(PortOwnership.groupListens(listener.pid, on: free), false)
    }

    /// /proc files are read to their end: Foundation reads only their first page, and on a busy
    /// machine a listener sat beyond it in /proc/net/tcp (so every graded server of a scenario
    /// run beside others looked as if someone else held its port).
    func testAListenerFarDownTheSocketTableIsFound() throws {
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        var last = 0
        for _ in 0..<300 {
            let listener = TestSupport.listenOnLoopback(backlog: 1)
            fds.append(listener.fd)
            last = listener.port
        }
        XCTAssertGreaterThan(ProcFile.bytes("/proc/net/tcp")?.count ?? 0, 300 * 100, "the socket table was cut short")
        XCTAssertEqual(PortOwnership.groupListens(getpgrp(), on: last), true)
    }
}
