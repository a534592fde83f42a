import CRCContract
@testable import CRCServer
import Foundation
import Logging
import XCTest

/// What a server logs is what crc-cluster reads: every event kind, written by the server's log
/// handler as JSON (its log file) and as text (its stderr), decodes back to the same `NodeEvent`.
final class LogContractTests: XCTestCase {
    func testEveryEventKindRoundTripsThroughBothLogFormats() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crc-logcontract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let jsonPath = dir.appendingPathComponent("server.log").path, textPath = dir.appendingPathComponent("server.txt").path
        let json = try LineSink(path: jsonPath), text = try LineSink(path: textPath)
        var logger = Logger(label: "test") { _ in ServerLogHandler(text: text, textLevel: .trace, json: json, jsonLevel: .trace) }
        logger.logLevel = .trace
        let metadata: Logger.Metadata = ["id": .stringConvertible(7), "info": .string("Elronds House"), "lost": .array([.stringConvertible(2), .stringConvertible(103)]),
                                         "adjacent": .stringConvertible(true)]
        for kind in NodeEvent.Kind.allCases { logger.info(kind, metadata: metadata) }

        let expected: [String: JSONValue] = ["id": 7, "info": "Elronds House", "lost": [2, 103], "adjacent": true, "level": "info"]
        let jsonLines = try String(contentsOfFile: jsonPath, encoding: .utf8).split(separator: "\n")
        let textLines = try String(contentsOfFile: textPath, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(jsonLines.count, NodeEvent.Kind.allCases.count)
        XCTAssertEqual(textLines.count, NodeEvent.Kind.allCases.count)
        for (kind, (j, t)) in zip(NodeEvent.Kind.allCases, zip(jsonLines, textLines)) {
            let fromJSON = try XCTUnwrap(NodeEvent(line: j), String(j))
            XCTAssertEqual(fromJSON.kind, kind)
            XCTAssertEqual(NodeEvent.kind(of: j), kind, "the kind is read without decoding")
            XCTAssertNotNil(fromJSON.string("ts"))
            var rest = fromJSON.fields
            rest["ts"] = nil
            XCTAssertEqual(rest, expected, String(j))
            let fromText = try XCTUnwrap(NodeEvent(serverText: String(t)), String(t))
            XCTAssertEqual(fromText.kind, kind)
            XCTAssertEqual(fromText.fields, expected, String(t))
        }
        // A log holding other lines: only the asked-for kinds, decoded, in order.
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: jsonPath)))
        XCTAssertEqual(NodeEvent.events(inLog: bytes, of: [.chat, .hostsLost]).map(\.kind), [.chat, .hostsLost])
    }

    func testALineThatNamesNoKnownEventIsNotAnEvent() {
        XCTAssertNil(NodeEvent(line: #"{"event":"chat_renamed","source":1}"#))
        XCTAssertNil(NodeEvent(line: "not json"))
        XCTAssertNil(NodeEvent(line: #"{"source":1}"#))
        // An escaped "event" inside a text is not the line's event.
        XCTAssertEqual(NodeEvent.kind(of: #"{"event":"chat","text":"\"event\":\"ready\""}"#), .chat)
        XCTAssertNil(NodeEvent.kind(of: #"{"text":"\"event\":\"ready\""}"#))
    }
}
