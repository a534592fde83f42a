import CRCCore
import CRCProtocol
import NIOCore
import XCTest

/// Hostile input, in bulk: random bytes and mutated valid frames through the parser and into a
/// server core. Nothing may crash or hang, a protocol error must be raised for what is not CRC,
/// and what the core keeps must stay bounded by what it was told.
final class RandomInputTests: XCTestCase {
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func testMillionsOfRandomAndMutatedFrames() {
        var rng = Rng(s: 42)
        let parser = MessageParser(limits: Limits(maxTextLength: 4096))
        var core = ServerCore(id: 1, name: "target", info: "", logsRouting: false)
        var actions: [Action] = []
        var link = LinkID(1)
        core.linkOpened(link, outbound: false, into: &actions)
        let seeds: [Message] = CodecSeeds.all
        var frames = 0, messages = 0, errors = 0
        let deadline = Date().addingTimeInterval(60)
        var pending = ByteBuffer()
        var maxPending = 0
        while frames < 1_000_000, frames % 4096 != 0 || Date() < deadline {
            // A frame: random bytes (1 in 4) or a valid message with a few bytes mutated.
            var bytes: [UInt8]
            if rng.below(4) == 0 {
                bytes = (0..<(1 + rng.below(40))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = Array(seeds[rng.below(seeds.count)].encoded.readableBytesView)
                for _ in 0..<rng.below(4) { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            pending.writeBytes(bytes)
            frames += 1
            do {
                while let m = try parser.parse(&pending) {
                    messages += 1
                    core.receive(m, on: link, into: &actions)
                    actions.removeAll(keepingCapacity: true)
                }
            } catch {
                // Protocol error: the connection is closed; a fresh one starts clean.
                errors += 1
                core.linkClosed(link, into: &actions)
                link = LinkID(link.rawValue + 1)
                core.linkOpened(link, outbound: false, into: &actions)
                actions.removeAll(keepingCapacity: true)
                pending.clear()
            }
            maxPending = max(maxPending, pending.readableBytes)
            if pending.readerIndex > 65_536 { pending.discardReadBytes() }
        }
        XCTAssertGreaterThanOrEqual(frames, 1_000_000, "ran out of time after \(frames) frames")
        XCTAssertGreaterThan(messages, 1_000, "valid frames must get through")
        // What waits for the rest of a message is at most one message: a registration's 65,802
        // bytes, or a header plus the text limit, plus the frame that carried it in.
        XCTAssertLessThanOrEqual(maxPending, 12 + 255 + 65_535 + 40)
        XCTAssertGreaterThan(errors, 1_000, "garbage must be detected")
        // Everything the core keeps came from registrations it accepted: bounded by what it received.
        XCTAssertLessThanOrEqual(core.hosts.count, messages)
        XCTAssertLessThanOrEqual(core.peers.count, 1)
    }
}

enum CodecSeeds {
    static let all: [Message] = [
        .serverRegistration(Registration(sourceID: 2, lastHopID: 0, name: "peer", info: "x")),
        .clientRegistration(Registration(sourceID: 101, lastHopID: 0, name: "u", info: "i")),
        .clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "hello")),
        .clientQuit(ClientQuit(sourceID: 101, text: "bye")),
        .serverQuit(ServerQuit(sourceID: 2, replacementID: 0, text: "down")),
        .status(Status(sourceID: 2, destinationID: 1, code: .unknownID, text: "Unknown ID 9")),
    ]
}
