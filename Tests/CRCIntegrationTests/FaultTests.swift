import CRCCluster
import CRCCore
import Foundation
import NIOCore
import NIOPosix
import XCTest
import CRCContract
import CRCProcess

/// Links that are cut, slowed down, or whose far end vanishes without a word.
final class FaultTests: XCTestCase {
    var harness: Harness!

    override func setUpWithError() throws { harness = try Harness() }
    override func tearDown() { harness.shutdown() }

    func log(_ server: Harness.Server) -> String { (try? String(contentsOf: server.log, encoding: .utf8)) ?? "" }

    /// crc-cluster's relay on a server link: it passes everything through, delays it in order,
    /// cuts the link (the lower server keeps trying to rejoin and is refused), and heals it.
    func testRelayDelaysCutsAndHealsAServerLink() throws {
        let h = harness!
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let alpha = try h.startServer(id: 1, name: "alpha")
        let relay = LinkRelay(name: "beta", targetPort: alpha.port, loop: group.next())
        try relay.start()
        defer { relay.close() }
        let viaRelay = Harness.Server(process: alpha.process, port: relay.port, monitorPort: alpha.monitorPort, log: alpha.log)
        let beta = try h.startServer(id: 2, name: "beta", upstream: viaRelay)
        let ann = try h.startClient(id: 101, name: "ann", server: alpha)
        let bob = try h.startClient(id: 102, name: "bob", server: beta)
        XCTAssertNotNil(ann.waitForEvent(.userJoined, timeout: h.timeout) { $0.int("id") == 102 })

        // Delay: each direction holds bytes 300 ms; chats still arrive, in order.
        relay.setDelay(.milliseconds(300))
        let mark = bob.stdoutLines.count
        let sent = Date()
        for i in 1...5 { ann.send(line: "msg 102 delayed \(i)") }
        XCTAssertNotNil(bob.waitForLine(from: mark, timeout: h.timeout) { $0.contains("delayed 5") })
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(sent), 0.3, "the relay held the chats back")
        let texts = bob.events(.chat).compactMap { $0.string("text") }
        XCTAssertEqual(texts, (1...5).map { "delayed \($0)" })

        // Cut: both servers stay up, each forgets the other side, the clients are told.
        relay.cut()
        h.waitForState(alpha, "alpha forgot beta and bob") { Set($0.hosts.map(\.id)) == [101] }
        h.waitForState(beta, "beta forgot alpha and ann") { Set($0.hosts.map(\.id)) == [102] }
        XCTAssertNotNil(ann.waitForEvent(.userLeft, timeout: h.timeout) { $0.int("id") == 102 })
        XCTAssertNotNil(bob.waitForEvent(.userLeft, timeout: h.timeout) { $0.int("id") == 101 })
        // beta keeps trying; the relay refuses it while the link is cut.
        XCTAssertTrue(Harness.poll(timeout: h.timeout) { self.log(beta).components(separatedBy: "\"event\":\"rejoin_attempt\"").count > 2 })
        XCTAssertEqual(try MonitorClient.fetchState(port: alpha.monitorPort).adjacentServers, [])

        // Heal: beta's next attempt gets through; everyone knows everyone again.
        let annMark = ann.stdoutLines.count
        relay.heal()
        h.waitForState(alpha, "alpha knows beta and bob again") { Set($0.hosts.map(\.id)) == [2, 101, 102] }
        XCTAssertNotNil(ann.waitForEvent(.userJoined, from: annMark, timeout: h.timeout) { $0.int("id") == 102 })
        XCTAssertTrue(h.waitForLog(beta, containing: "\"event\":\"rejoined\""))
        let again = bob.stdoutLines.count
        ann.send(line: "msg 102 healed")
        XCTAssertEqual(bob.waitForEvent(.chat, from: again, timeout: h.timeout)?.string("text"), "healed")
    }

    /// A peer whose machine vanishes (no FIN, no RST: its packets just stop) is detected by TCP
    /// keepalive and handled like a closed link. The vanishing is real: server and client run in a
    /// private network namespace whose loopback interface is then taken down.
    func testAVanishedPeerIsDroppedByKeepalive() throws {
        let probe = NodeProcess(name: "probe", executable: "/usr/bin/unshare", arguments: ["-rn", "true"])
        guard (try? probe.start()) != nil else { throw XCTSkip("unshare is not installed") }
        guard probe.waitForExit(timeout: 10) == .exited(0) else { throw XCTSkip("unprivileged network namespaces are not available here") }

        let dir = harness.logDir
        let serverLog = dir.appendingPathComponent("alpha.log").path
        let script = """
        set -e
        trap 'kill 0 2>/dev/null' EXIT INT TERM
        ip link set lo up
        CRC_DIE_WITH_PARENT=$$ "$1" --id 1 --servername alpha --port 4000 --log-file "$3" --log-level debug \\
            --keepalive-idle 1 --keepalive-interval 1 --keepalive-count 2 > /dev/null &
        until grep -q '"event":"ready"' "$3" 2>/dev/null; do sleep 0.02; done
        mkfifo "$4/peer-in"; exec 3<>"$4/peer-in"    # the client's input stays open, and empty
        CRC_DIE_WITH_PARENT=$$ "$2" --id 101 -S 127.0.0.1 -P 4000 -U ann --json <&3 > /dev/null &
        until grep -q '"event":"registered"' "$3"; do sleep 0.02; done
        echo "peer registered"
        ip link set lo down
        echo "peer vanished"
        wait
        """
        let p = NodeProcess(name: "netns", executable: "/usr/bin/unshare",
                            arguments: ["-rn", "bash", "-c", script, "netns",
                                        Harness.binDir.appendingPathComponent("crc-server").path,
                                        Harness.binDir.appendingPathComponent("crc-client").path, serverLog, dir.path])
        try p.start()
        defer { _ = p.stop(grace: 2) }
        XCTAssertNotNil(p.waitForLine(timeout: harness.timeout) { $0 == "peer vanished" }, p.stderrLines.joined(separator: "\n"))
        let vanished = Date()
        // idle 1 s + 2 probes 1 s apart: about 3 s. Nothing else can close this link.
        let dropped = Harness.poll(timeout: 15) {
            ((try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? "").contains("\"event\":\"client_quit\"")
        }
        let after = Date().timeIntervalSince(vanished)
        let text = (try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? ""
        XCTAssertTrue(dropped, "the server never noticed the vanished peer:\n\(text)")
        XCTAssertGreaterThanOrEqual(after, 1, "dropped before keepalive could have probed")
        XCTAssertTrue(text.contains("\"text\":\"connection lost\""), text)
        XCTAssertTrue(text.contains("\"event\":\"link_down\""), text)
    }
}
