import CRCProtocol
import NIOCore
import XCTest

final class CodecTests: XCTestCase {
    func hexBytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    func testGoldenServerRegistrations() throws {
        let cases: [(UInt32, String)] = [
            (45678, "000000b26e00000000090010726976656e64616c6522456c726f6e64277320486f75736522"),
            (2, "000000000200000000090010726976656e64616c6522456c726f6e64277320486f75736522"),
        ]
        for (id, golden) in cases {
            let message = Message.serverRegistration(
                Registration(sourceID: id, lastHopID: 0, name: "rivendale", info: "\"Elrond's House\""))
            XCTAssertEqual(message.hex, golden)
            var buffer = ByteBuffer(bytes: hexBytes(golden))
            let parsed = try MessageParser().parse(&buffer)
            XCTAssertEqual(parsed, message)
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testHeaderLayoutOfEveryType() {
        // Byte-exact layouts from docs/protocol.md's table: type, fixed header, then the variable part.
        XCTAssertEqual(Message.status(Status(sourceID: 1, destinationID: 0x0102_0304, code: .duplicateID, text: "ab")).hex,
                       "01" + "00000001" + "01020304" + "0002" + "00000002" + "6162")
        XCTAssertEqual(Message.serverQuit(ServerQuit(sourceID: 7, replacementID: 9, text: "x")).hex,
                       "02" + "00000007" + "00000009" + "00000001" + "78")
        XCTAssertEqual(Message.clientRegistration(Registration(sourceID: 101, lastHopID: 1, name: "fr", info: "i")).hex,
                       "80" + "00000065" + "00000001" + "02" + "0001" + "6672" + "69")
        XCTAssertEqual(Message.clientChat(ClientChat(sourceID: 101, destinationID: 104, text: "hi")).hex,
                       "81" + "00000065" + "00000068" + "00000002" + "6869")
        XCTAssertEqual(Message.clientQuit(ClientQuit(sourceID: 104, text: "bye")).hex,
                       "82" + "00000068" + "00000003" + "627965")
    }

    static let samples: [Message] = [
        .serverRegistration(Registration(sourceID: 1, lastHopID: 0, name: "theshire", info: "Home of the Hobbits")),
        .serverRegistration(Registration(sourceID: .max, lastHopID: 7, name: String(repeating: "n", count: 255),
                                         info: String(repeating: "i", count: 65_535))),
        .status(Status(sourceID: 1, destinationID: 101, code: .welcome, text: "Welcome to the Clemson Relay Chat network frodo")),
        .status(Status(sourceID: 3, destinationID: 0, code: StatusCode(rawValue: 0xffff), text: "")),
        .serverQuit(ServerQuit(sourceID: 2, replacementID: 3, text: "bye")),
        .clientRegistration(Registration(sourceID: 101, lastHopID: 0, name: "", info: "")),
        .clientChat(ClientChat(sourceID: 101, destinationID: 104, text: "\"Bye Bilbo\" ✓")),
        .clientChat(ClientChat(sourceID: 0, destinationID: 0, text: "")),
        .clientQuit(ClientQuit(sourceID: 104, text: "Leaving for the Undying Lands")),
    ]

    func testRoundTripOfEveryType() throws {
        XCTAssertEqual(Set(Self.samples.map(\.type)), Set(MessageType.allCases))
        for message in Self.samples {
            var buffer = message.encoded
            XCTAssertEqual(buffer.readableBytes, message.wireSize)
            XCTAssertEqual(try MessageParser().parse(&buffer), message)
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testStreamCutAtEveryOffsetParsesTheSame() throws {
        var stream = ByteBuffer()
        let messages = Self.samples.filter { $0.wireSize < 1000 }
        for m in messages { stream.writeCRCMessage(m) }
        let bytes = Array(stream.readableBytesView)
        let parser = MessageParser()
        // One cut anywhere...
        for cut in 0...bytes.count {
            var pending = ByteBuffer()
            var out: [Message] = []
            pending.writeBytes(bytes[0..<cut])
            out += try parser.parseAll(&pending)
            pending.writeBytes(bytes[cut...])
            out += try parser.parseAll(&pending)
            XCTAssertEqual(out, messages, "cut at \(cut)")
            XCTAssertEqual(pending.readableBytes, 0)
        }
        // ...and one byte at a time.
        var pending = ByteBuffer()
        var out: [Message] = []
        for b in bytes {
            pending.writeInteger(b)
            out += try parser.parseAll(&pending)
        }
        XCTAssertEqual(out, messages)
    }

    func testIncompleteMessageWaitsWithoutConsuming() throws {
        var buffer = Message.clientChat(ClientChat(sourceID: 1, destinationID: 2, text: "hello")).encoded
        buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        XCTAssertNil(try MessageParser().parse(&buffer))
        XCTAssertEqual(buffer.readerIndex, 0)
    }

    func testUnknownTypeIsAProtocolError() {
        var buffer = ByteBuffer(bytes: [0x42, 0, 0, 0])
        XCTAssertThrowsError(try MessageParser().parse(&buffer)) { error in
            XCTAssertEqual(error as? ProtocolError, .unknownType(0x42))
        }
    }

    func testOverlongTextIsRejectedFromTheHeaderAlone() {
        // Only the header arrives: a reader must not wait for (or buffer) 4 GiB of text.
        var buffer = ByteBuffer(bytes: [0x81, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff])
        XCTAssertThrowsError(try MessageParser(limits: Limits(maxTextLength: 1024)).parse(&buffer)) { error in
            XCTAssertEqual(error as? ProtocolError,
                           .textTooLong(type: .clientChat, length: 0xffff_ffff, limit: 1024))
        }
        var ok = Message.clientChat(ClientChat(sourceID: 1, destinationID: 2, text: String(repeating: "a", count: 1024))).encoded
        XCTAssertNotNil(try MessageParser(limits: Limits(maxTextLength: 1024)).parse(&ok))
    }
}
