import CRCProtocol
import CRCTesting
import Foundation
import XCTest
import CRCContract
import CRCProcess

/// crc-client as people and scripts use it: a server that never answers, texts too long, piped
/// commands that race the network, and a person at a terminal.
final class ClientHardeningTests: XCTestCase {
    var harness: Harness!

    override func setUpWithError() throws { harness = try Harness() }
    override func tearDown() { harness.shutdown() }

    var clientPath: String { Harness.binDir.appendingPathComponent("crc-client").path }

    func client(_ args: [String]) throws -> NodeProcess {
        let p = NodeProcess(name: "client", executable: clientPath, arguments: args)
        try p.start()
        return p
    }

    func testAServerThatNeverAnswersIsReportedAndTheClientExits() throws {
        let (fd, port) = TestSupport.listenOnLoopback()
        defer { close(fd) }
        let p = try client(["--id", "1", "-S", "127.0.0.1", "-P", "\(port)", "-U", "lost", "--register-timeout", "1"])
        let status = p.waitForExit(timeout: 15)
        XCTAssertEqual(status, .exited(4), "it hung or ended otherwise: \(p.stdoutLines + p.stderrLines)")
        p.waitForEndOfOutput(timeout: 2)
        XCTAssertTrue((p.stdoutLines + p.stderrLines).contains { $0.contains("no answer to the registration within 1 s") }, "\(p.stdoutLines)")
    }

    func testTooLongTextsAndBadCommandsAreRefusedLocally() throws {
        let s = try harness.startServer(id: 1, name: "alpha")
        let bob = try harness.startClient(id: 102, name: "bob", server: s)
        let ann = try harness.startClient(id: 101, name: "ann", server: s)
        XCTAssertNotNil(ann.waitForEvent(.userJoined, timeout: 10) { $0.int("id") == 102 })
        ann.send(line: "/msg 102 " + String(repeating: "x", count: 70_000))
        let tooLong = ann.waitForEvent(.error, timeout: 10)?.string("message") ?? ""
        XCTAssertTrue(tooLong.contains("70000 bytes") && tooLong.contains("limit"), tooLong)
        // A megabyte of nonsense is not echoed back.
        ann.send(line: String(repeating: "z", count: 1_000_000))
        let unknown = ann.waitForEvent(.error, timeout: 10) { ($0.string("message"))?.contains("unknown command") ?? false }
        XCTAssertLessThan((unknown?.string("message") ?? String(repeating: "?", count: 1000)).count, 200)
        ann.send(line: "/msg bob")
        let empty = ann.waitForEvent(.error, timeout: 10) { ($0.string("message"))?.contains("nothing to send") ?? false }
        XCTAssertNotNil(empty)
        // Still connected: the next chat arrives.
        let mark = bob.stdoutLines.count
        ann.send(line: "/msg bob still here")
        XCTAssertEqual(bob.waitForEvent(.chat, from: mark, timeout: 10)?.string("text"), "still here")
    }

    func testAnAmbiguousNameListsTheCandidates() throws {
        let s = try harness.startServer(id: 1, name: "alpha")
        _ = try harness.startClient(id: 201, name: "sam", server: s)
        _ = try harness.startClient(id: 202, name: "sam", server: s)
        let ann = try harness.startClient(id: 101, name: "ann", server: s)
        XCTAssertNotNil(ann.waitForEvent(.userJoined, timeout: 10) { $0.int("id") == 202 })
        ann.send(line: "/msg sam hello")
        let message = ann.waitForEvent(.error, timeout: 10)?.string("message") ?? ""
        XCTAssertTrue(message.contains("201") && message.contains("202") && message.contains("by id"), message)
    }

    /// `printf '/msg aragorn hi\n' | crc-client …`: the command waits for the welcome, and for
    /// aragorn, who joins a moment later; end of input then leaves, after the chat is sent.
    func testPipedCommandsWaitForRegistrationAndForANameAboutToJoin() throws {
        let s = try harness.startServer(id: 1, name: "alpha")
        let frodo = NodeProcess(name: "frodo", executable: clientPath,
                                arguments: ["--id", "101", "-S", "127.0.0.1", "-P", "\(s.port)", "-U", "frodo", "--json"])
        try frodo.start()
        frodo.send(line: "/msg aragorn hi")
        frodo.closeStdin()
        let aragorn = try harness.startClient(id: 102, name: "aragorn", server: s)
        XCTAssertEqual(aragorn.waitForEvent(.chat, timeout: 10)?.string("text"), "hi", frodo.stdoutLines.joined(separator: "\n"))
        XCTAssertEqual(frodo.waitForExit(timeout: 10), .exited(0))
        XCTAssertFalse(frodo.stdoutLines.contains { $0.contains("\"error\"") }, frodo.stdoutLines.joined(separator: "\n"))
    }

    /// pip (a scripted client, 103) and sam (104) at a terminal (a pseudo-terminal from `script`,
    /// UTF-8 locale), both on one server; returns once pip has heard sam join.
    func samAtATerminalBesidePip() throws -> (pip: NodeProcess, tty: NodeProcess) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script (util-linux) is not installed") }
        let s = try harness.startServer(id: 1, name: "alpha")
        let pip = try harness.startClient(id: 103, name: "pip", server: s)
        let command = "env LANG=C.UTF-8 \(clientPath) --id 104 -S 127.0.0.1 -P \(s.port) -U sam"
        let tty = NodeProcess(name: "tty", executable: "/usr/bin/script", arguments: ["-qfec", command, "/dev/null"])
        try tty.start()
        XCTAssertNotNil(pip.waitForEvent(.userJoined, timeout: 10) { $0.int("id") == 104 })
        return (pip, tty)
    }

    /// At a terminal (a pseudo-terminal from `script`), arrow keys edit the line instead of landing
    /// in the chat, what was sent is echoed, and Ctrl-D leaves cleanly.
    func testATerminalUserGetsLineEditing() throws {
        let (pip, tty) = try samAtATerminalBesidePip()
        defer { tty.signalGroup(SIGKILL) }
        // sam's screen shows pip's arrival (drawn above the prompt by the reading thread).
        XCTAssertNotNil(tty.waitForLine(timeout: 10) { $0.contains("pip (103) joined") }, tty.stdoutLines.joined(separator: "\n"))
        // "left", two left arrows, "X", Enter: the line reads "leXft".
        tty.send(line: "/msg pip left\u{1B}[D\u{1B}[DX\r")
        XCTAssertEqual(pip.waitForEvent(.chat, timeout: 10)?.string("text"), "leXft")
        XCTAssertNotNil(tty.waitForLine(timeout: 10) { $0.contains("-> [pip] leXft") }, tty.stdoutLines.joined(separator: "\n"))
        XCTAssertTrue(tty.stdoutLines.contains { $0.contains("sam> ") }, "no prompt: \(tty.stdoutLines)")
        tty.send(line: "\u{04}")
        XCTAssertNotNil(pip.waitForEvent(.userLeft, timeout: 10) { $0.int("id") == 104 })
        XCTAssertEqual(tty.waitForExit(timeout: 10), .exited(0))
    }

    /// Chats arriving while the user types are drawn above the prompt and never split or garble
    /// the line being typed: sam types twelve lines, a few keys at a time, while pip floods him.
    func testLinesFromTheNetworkNeverSplitTheLineBeingTyped() throws {
        let (pip, tty) = try samAtATerminalBesidePip()
        defer { tty.signalGroup(SIGKILL) }
        let flood = 400
        let flooding = DispatchQueue(label: "pip")
        flooding.async { for i in 0..<flood { pip.send(line: "/msg 104 flood \(i)") } }
        let typed = (0..<12).map { "typed line \($0) — ünïcödé \(String(repeating: "x", count: $0 * 7))" }
        for text in typed {
            let keys = Array("/msg pip \(text)\r")
            for start in stride(from: 0, to: keys.count, by: 3) {
                tty.send(raw: String(keys[start..<min(start + 3, keys.count)]))
            }
        }
        var received: [String] = []
        var from = 0
        while received.count < typed.count,
              let (line, index) = pip.waitForLine(from: from, timeout: 20, where: { NodeEvent.kind(of: $0) == .chat }) {
            received.append(NodeEvent(line: line)?.string("text") ?? "?")
            from = index + 1
        }
        XCTAssertEqual(received, typed, "sam's typed lines reached pip split or changed")
        flooding.sync {}
        XCTAssertNotNil(tty.waitForLine(timeout: 20) { $0.contains("[pip] flood \(flood - 1)") }, "the flood was not all shown")
        XCTAssertEqual(tty.stdoutLines.filter { $0.contains("[pip] flood ") }.count, flood)
        tty.send(raw: "\u{04}")
        XCTAssertEqual(tty.waitForExit(timeout: 10), .exited(0))
    }
}
