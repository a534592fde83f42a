import CRCTesting
import Foundation
import XCTest
import CRCContract
import CRCProcess

/// Mixed trees of our servers and a course-style server (`../shared/foreign/course_server.py`, a
/// stand-in for a student's implementation): every client learns every other, chats cross every
/// kind of hop, and stopping one of ours leaves the course servers running.
final class CourseInteropTests: XCTestCase {
    var harness: Harness!
    var course: [NodeProcess] = []

    override func setUpWithError() throws { harness = try Harness() }
    override func tearDown() {
        for p in course { p.stop(grace: 2) }
        harness.shutdown()
    }

    static var courseServer: URL { TestSupport.courseServer }

    enum Kind { case ours, course }

    func start(_ kind: Kind, id: UInt32, name: String, upstream: Harness.Server?) throws -> Harness.Server {
        switch kind {
        case .ours:
            return try harness.startServer(id: id, name: name, upstream: upstream, extra: ["--compat", "course"])
        case .course:
            let port = try BlockingSocket.freeLoopbackPort()
            var args = [Self.courseServer.path, "--id", "\(id)", "--servername", name, "--port", "\(port)", "--info", "course \(name)",
                        "--log-file", harness.logDir.appendingPathComponent("\(name).log").path]
            if let upstream { args += ["--connect_to_host", "127.0.0.1", "--connect_to_port", "\(upstream.port)"] }
            let p = NodeProcess(name: name, executable: "python3", arguments: args)
            try p.start()
            course.append(p)
            // Ready when its port accepts connections (it announces nothing).
            XCTAssertTrue(Harness.poll(timeout: 10) {
                guard let fd = try? BlockingSocket.connect(port: port, timeout: 1) else { return false }
                close(fd)
                return true
            }, "\(name) never listened: \(p.stderrLines)")
            return Harness.Server(process: p, port: port, monitorPort: 0, log: harness.logDir.appendingPathComponent("\(name).log"))
        }
    }

    func mixedChain(_ kinds: [Kind]) throws {
        guard FileManager.default.fileExists(atPath: Self.courseServer.path) else {
            throw XCTSkip("course_server.py not found at \(Self.courseServer.path)")
        }
        var servers: [Harness.Server] = []
        for (i, kind) in kinds.enumerated() {
            servers.append(try start(kind, id: UInt32(i + 1), name: "s\(i + 1)", upstream: servers.last))
        }
        var clients: [NodeProcess] = []
        for (i, s) in servers.enumerated() {
            clients.append(try harness.startClient(id: UInt32(101 + i), name: "c\(i + 1)", server: s))
        }
        // Every client learns every other, across every kind of hop.
        for (i, c) in clients.enumerated() {
            for j in clients.indices where j != i {
                XCTAssertNotNil(c.waitForEvent(.userJoined, timeout: 10) { $0.int("id") == 101 + j },
                                "c\(i + 1) never heard of c\(j + 1) in \(kinds)")
            }
        }
        // Chats end to end, both ways.
        let first = clients.first!, last = clients.last!
        first.send(line: "msg \(100 + clients.count) to the far end")
        XCTAssertEqual(last.waitForEvent(.chat, timeout: 10)?.string("text"), "to the far end")
        last.send(line: "msg 101 and back")
        XCTAssertEqual(first.waitForEvent(.chat, timeout: 10)?.string("text"), "and back")
        // Stopping one of ours next to course servers leaves them running (no server quit sent).
        guard let oursIndex = kinds.firstIndex(of: .ours) else { return }
        XCTAssertEqual(servers[oursIndex].process.stop(grace: 5), .exited(0))
        for (i, kind) in kinds.enumerated() where kind == .course {
            let p = servers[i].process
            // Still serving: a new client is welcomed.
            let late = try harness.startClient(id: UInt32(201 + i), name: "late\(i)", server: servers[i])
            XCTAssertNil(late.exitStatus)
            XCTAssertNil(p.exitStatus, "course server s\(i + 1) died: \(p.stderrLines)")
        }
    }

    func testCourseFirstChain() throws { try mixedChain([.course, .ours, .course, .ours]) }
    func testOursFirstChain() throws { try mixedChain([.ours, .course, .ours, .course]) }
}
