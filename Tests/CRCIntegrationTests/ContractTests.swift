import CRCCore
import Foundation
import XCTest
import CRCProcess
import CRCContract

/// The lines the executables print for launchers follow the typed contract (`ReadyLine`,
/// `ClientDigest`, `ClientStateReport`), decoded with a strict JSONDecoder from the raw text.
final class ContractTests: XCTestCase {
    var harness: Harness!
    override func setUpWithError() throws { harness = try Harness() }
    override func tearDown() { harness.shutdown() }

    func raw(_ p: NodeProcess, _ event: String) throws -> Data {
        let line = try XCTUnwrap(p.stdoutLines.last { $0.contains("\"event\":\"\(event)\"") }, "no \(event) line: \(p.stdoutLines)")
        return Data(line.utf8)
    }

    func testReadyDigestAndStateLinesDecode() throws {
        let a = try harness.startServer(id: 1, name: "a")
        let ready = try JSONDecoder().decode(ReadyLine.self, from: try raw(a.process, "ready"))
        XCTAssertEqual(ready.id, 1)
        XCTAssertEqual(ready.name, "a")
        XCTAssertEqual(ready.port, a.port)
        XCTAssertEqual(ready.monitorPort, a.monitorPort)
        XCTAssertEqual(ready.pid, a.process.pid)

        let x = try harness.startClient(id: 101, name: "x", server: a)
        let y = try harness.startClient(id: 102, name: "y", server: a)
        XCTAssertNotNil(x.waitForEvent(.userJoined, timeout: 10) { $0.int("id") == 102 })
        y.send(line: "msg 101 a \"quoted\" text")
        XCTAssertNotNil(x.waitForEvent(.chat, timeout: 10))
        x.send(line: "digest")
        XCTAssertNotNil(x.waitForEvent(.digest, timeout: 10))
        let digest = try JSONDecoder().decode(ClientDigest.self, from: try raw(x, "digest"))
        XCTAssertEqual(digest.users, 1)
        XCTAssertEqual(digest.usersDigest, usersDigest([102]))
        XCTAssertEqual(digest.chatLog, [ChatLine(from: 102, text: "a \"quoted\" text")])
        XCTAssertEqual(digest.statusLog, ["Welcome to the Clemson Relay Chat network x"])
        x.send(line: "state")
        XCTAssertNotNil(x.waitForEvent(.state, timeout: 10))
        let state = try JSONDecoder().decode(ClientStateReport.self, from: try raw(x, "state"))
        XCTAssertEqual(state.users, [UserLine(id: 102, name: "y", info: "info of y")])
        XCTAssertEqual(state.registered, true)
        XCTAssertEqual(state.chatLog.map(\.text), ["a \"quoted\" text"])
    }
}
