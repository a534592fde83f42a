import CRCCore
import CRCProtocol
import Foundation
import NIOCore
import XCTest

/// docs/protocol.md's hex examples are true: each one is what our encoder writes for the message
/// the page describes — and, for the statuses and the forwarded registration, what a real
/// `ServerCore` sends in that situation — and each parses back to that message, whole. Every
/// example on the page is checked, and every message checked here has its example on the page.
final class ProtocolDocTests: XCTestCase {
    static let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/protocol.md")

    /// The page's examples: `<!-- example: NAME -->` followed by a ```hex block.
    func examples() throws -> [String: [UInt8]] {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: "<!-- example: ([a-z0-9-]+) -->\\n```hex\\n([^`]*)```")
        var out: [String: [UInt8]] = [:]
        for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let name = String(text[Range(m.range(at: 1), in: text)!])
            let hex = text[Range(m.range(at: 2), in: text)!].filter { !$0.isWhitespace }
            XCTAssertEqual(hex.count % 2, 0, "\(name): an odd number of hex digits")
            var bytes: [UInt8] = []
            var i = hex.startIndex
            while i < hex.endIndex, hex.index(after: i) < hex.endIndex {
                let j = hex.index(i, offsetBy: 2)
                bytes.append(try XCTUnwrap(UInt8(hex[i..<j], radix: 16), "\(name): '\(hex[i..<j])' is not hex"))
                i = j
            }
            XCTAssertNil(out[name], "\(name) appears twice")
            out[name] = bytes
        }
        return out
    }

    /// What a server core sends on `link` in reply to `message` arriving there.
    func sent(by core: inout ServerCore, after message: Message, on link: LinkID) -> [Message] {
        var actions: [Action] = []
        core.receive(message, on: link, into: &actions)
        return actions.flatMap { action -> [Message] in
            switch action {
            case .send(let m, to: let to) where to == link: return [m]
            case .sendToEach(let m, let links, let except) where links.contains(link) && except != link: return [m]
            case .sendEncoded(var bytes, _, to: let to) where to == link:
                return (try? MessageParser().parseAll(&bytes)) ?? []
            default: return []
            }
        }
    }

    func testEveryExampleOnThePageIsWhatWeSendAndParse() throws {
        let page = try examples()
        let frodo = Registration(sourceID: 101, lastHopID: 0, name: "frodo", info: "ring bearer")

        // Server 1 with client 101 attached on one link and client 102 on another.
        var core = ServerCore(id: 1, name: "theshire", info: "Home of the Hobbits")
        var ignored: [Action] = []
        let link101 = LinkID(1), link102 = LinkID(2), linkServer = LinkID(3), linkImpostor = LinkID(4)
        for link in [link101, link102, linkServer, linkImpostor] { core.linkOpened(link, outbound: false, into: &ignored) }
        let welcome = sent(by: &core, after: .clientRegistration(frodo), on: link101)
        _ = sent(by: &core, after: .clientRegistration(Registration(sourceID: 102, lastHopID: 0, name: "sam", info: "")), on: link102)
        let unknown = sent(by: &core, after: .clientChat(ClientChat(sourceID: 101, destinationID: 999, text: "anyone?")), on: link101)
        // A server joining on linkServer hears of frodo in its burst, last hop rewritten to 1;
        // another that claims the same id 2 is refused.
        let burst = sent(by: &core, after: .serverRegistration(Registration(sourceID: 2, lastHopID: 0, name: "rivendale", info: "")), on: linkServer)
        let duplicate = sent(by: &core, after: .serverRegistration(Registration(sourceID: 2, lastHopID: 0, name: "impostor", info: "")), on: linkImpostor)

        let expected: [String: (message: Message, fromTheCore: Message?)] = [
            "server-registration": (.serverRegistration(Registration(sourceID: 2, lastHopID: 0, name: "rivendale", info: "\"Elrond's House\"")), nil),
            "server-registration-45678": (.serverRegistration(Registration(sourceID: 45678, lastHopID: 0, name: "rivendale", info: "\"Elrond's House\"")), nil),
            "client-registration-forwarded": (.clientRegistration(Registration(sourceID: 101, lastHopID: 1, name: "frodo", info: "ring bearer")),
                                              burst.first { if case .clientRegistration(let r) = $0 { return r.sourceID == 101 } else { return false } }),
            "status-welcome": (.status(Status(sourceID: 1, destinationID: 101, code: .welcome, text: "Welcome to the Clemson Relay Chat network frodo")),
                               welcome.first { if case .status = $0 { return true } else { return false } }),
            "status-unknown-id": (.status(Status(sourceID: 1, destinationID: 101, code: .unknownID, text: "Unknown ID 999")), unknown.first),
            "status-duplicate-server": (.status(Status(sourceID: 1, destinationID: 0, code: .duplicateID, text: "A machine has already registered with ID 2")),
                                        duplicate.first),
            "server-quit": (.serverQuit(ServerQuit(sourceID: 5, replacementID: 0, text: "goodbye")), nil),
            "client-chat": (.clientChat(ClientChat(sourceID: 105, destinationID: 107, text: "Hello from Moria")), nil),
            "client-quit": (.clientQuit(ClientQuit(sourceID: 102, text: "Off to the garden")), nil),
        ]
        XCTAssertEqual(Set(page.keys), Set(expected.keys), "the page's examples and this test's must be the same set")
        for (name, e) in expected {
            guard let bytes = page[name] else { continue }
            XCTAssertEqual(Array(e.message.encoded.readableBytesView), bytes, "\(name): the page's bytes are not what our encoder writes")
            var buffer = ByteBuffer(bytes: bytes)
            XCTAssertEqual(try MessageParser().parse(&buffer), e.message, "\(name): the page's bytes do not parse to the message")
            XCTAssertEqual(buffer.readableBytes, 0, "\(name): bytes left after the message")
            if let fromTheCore = e.fromTheCore {
                XCTAssertEqual(fromTheCore, e.message, "\(name): the server core sends something else in this situation")
            }
        }
        XCTAssertNotNil(expected["status-welcome"]?.fromTheCore, "the core sent no welcome")
        XCTAssertNotNil(expected["status-unknown-id"]?.fromTheCore, "the core sent no unknown-id answer")
        XCTAssertNotNil(expected["status-duplicate-server"]?.fromTheCore, "the core refused no duplicate")
        XCTAssertNotNil(expected["client-registration-forwarded"]?.fromTheCore, "the burst did not list frodo")
    }
}
