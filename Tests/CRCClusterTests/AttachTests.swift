import CRCCluster
import Foundation
import XCTest
import CRCContract
import CRCProcess

/// `check --attach` on a network started by hand on loopback addresses, as a lab's would be on
/// students' machines: it passes when the topology is right, names the differences when it is not.
final class AttachTests: ClusterTestCase {
    /// Starts a server by hand on `address`, on a free port; returns its port.
    func startServer(id: Int, name: String, address: String, upstream: (address: String, port: Int)?, monitor: Bool) throws -> Int {
        var args = ["--id", "\(id)", "--servername", name, "--port", "0", "--bind", address]
        if monitor { args += ["--monitor-port", "0"] }
        if let upstream { args += ["--connect_to_host", upstream.address, "--connect_to_port", "\(upstream.port)"] }
        let p = NodeProcess(name: name, executable: Self.binDir.appendingPathComponent("crc-server").path, arguments: args)
        processes.append(p)
        try p.start()
        let ready = try XCTUnwrap(p.waitForEvent(.ready, timeout: 10), "\(name) never ready: \(p.stderrLines)")
        return try XCTUnwrap(ready.int("port"))
    }

    func testCheckAttachesToAHandStartedNetwork() throws {
        let a = try startServer(id: 1, name: "a", address: "127.0.0.2", upstream: nil, monitor: true)
        let b = try startServer(id: 2, name: "b", address: "127.0.0.3", upstream: ("127.0.0.2", a), monitor: true)
        let c = try startServer(id: 3, name: "c", address: "127.0.0.4", upstream: ("127.0.0.2", a), monitor: false)
        func monitorPort(_ name: String) throws -> Int {
            let p = try XCTUnwrap(processes.first { $0.name == name })
            return try XCTUnwrap(p.waitForEvent(.ready, timeout: 1)?.int("monitor_port"))
        }
        let right = tmp.appendingPathComponent("lab.yaml")
        try """
        name: lab
        servers:
          - {id: 1, name: a, host: 127.0.0.2, port: \(a), monitor: \(try monitorPort("a"))}
          - {id: 2, name: b, upstream: a, host: 127.0.0.3, port: \(b), monitor: \(try monitorPort("b"))}
          - {id: 3, name: c, upstream: a, host: 127.0.0.4, port: \(c)}
        clients:
          - {id: 101, name: ann, server: b}
          - {id: 102, name: cy, server: c}
        steps:
          - chat: {from: ann, to: cy, text: across the lab}
          - quit: {client: cy, text: bye}
        """.write(to: right, atomically: true, encoding: .utf8)
        let logs = tmp.appendingPathComponent("logs").path
        let ok = try cluster(["check", right.path, "--attach", "--logs", logs])
        XCTAssertEqual(ok.waitForExit(timeout: 60), .exited(0), (ok.stdoutLines + ok.stderrLines).joined(separator: "\n"))
        ok.waitForEndOfOutput()
        XCTAssertTrue(ok.stdoutLines.contains { $0.contains("observers: observer-a (4000000000), observer-b (4000000001), observer-c (4000000002)") })
        XCTAssertTrue(ok.stdoutLines.contains { $0.hasPrefix("PASS lab") }, ok.stdoutLines.joined(separator: "\n"))

        // The topology puts c under b; the network has it under a: the difference is named.
        let wrong = tmp.appendingPathComponent("wrong.yaml")
        try String(contentsOf: right, encoding: .utf8).replacingOccurrences(of: "name: c, upstream: a", with: "name: c, upstream: b")
            .replacingOccurrences(of: "name: lab", with: "name: wrong").write(to: wrong, atomically: true, encoding: .utf8)
        let bad = try cluster(["check", wrong.path, "--attach", "--logs", logs, "--settle-timeout", "1"])
        XCTAssertEqual(bad.waitForExit(timeout: 60), .exited(1))
        bad.waitForEndOfOutput()
        let out = bad.stdoutLines.joined(separator: "\n")
        XCTAssertTrue(out.contains("a adjacent_servers: extra 3"), out)
        XCTAssertTrue(out.contains("b adjacent_servers: missing 3"), out)

        // A server that is not there, and a step that needs process control, are plain errors.
        let gone = tmp.appendingPathComponent("gone.yaml")
        try """
        servers:
          - {id: 1, name: a, host: 127.0.0.2, port: \(a)}
          - {id: 9, name: z, upstream: a, host: 127.0.0.9, port: \(try BlockingSocket.freeLoopbackPort())}
        """.write(to: gone, atomically: true, encoding: .utf8)
        let g = try cluster(["check", gone.path, "--attach", "--logs", logs, "--settle-timeout", "1"])
        XCTAssertEqual(g.waitForExit(timeout: 60), .exited(1))
        g.waitForEndOfOutput()
        XCTAssertTrue(g.stdoutLines.joined().contains("cannot reach server 'z' at 127.0.0.9:"), g.stdoutLines.joined(separator: "\n"))
        let killing = tmp.appendingPathComponent("kill.yaml")
        try """
        servers:
          - {id: 1, name: a, host: 127.0.0.2, port: \(a)}
        steps:
          - kill: a
        """.write(to: killing, atomically: true, encoding: .utf8)
        let k = try cluster(["check", killing.path, "--attach", "--logs", logs])
        XCTAssertEqual(k.waitForExit(timeout: 60), .exited(1))
        k.waitForEndOfOutput()
        XCTAssertTrue(k.stdoutLines.joined().contains("'kill a' needs control of the servers' processes"), k.stdoutLines.joined(separator: "\n"))
        let without = try cluster(["check", right.path])
        XCTAssertEqual(without.waitForExit(timeout: 30), .exited(64))
    }
}
