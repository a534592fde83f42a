import CRCCore
import CRCProtocol
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import XCTest
import CRCContract
@testable import CRCServer

/// The server's NIO shell without sockets or clocks: `EmbeddedChannel`s on an `EmbeddedEventLoop`
/// whose time the test advances. What the shell adds to the core is checked here: batching of
/// writes per read burst, the register timeout, back-pressure and the slow-consumer cut.
final class ServerShellTests: XCTestCase {
    let loop = EmbeddedEventLoop()
    var runtime: ServerRuntime!

    /// What the server logged: event names with their metadata, as text.
    let logged = LoggedEvents()

    override func setUp() {
        var config = ServerConfiguration(id: 1, name: "hub", info: "", port: 0)
        config.registerTimeout = .seconds(2)
        config.slowConsumerTimeout = .seconds(3)
        var logger = Logger(label: "test") { [logged] _ in CollectingLogHandler(events: logged) }
        logger.logLevel = .warning
        runtime = ServerRuntime(configuration: config, eventLoop: loop, logger: logger)
        runtime.joinedSucceedWithoutUpstream()
    }

    override func tearDown() {
        try? loop.syncShutdownGracefully()
    }

    /// A connection as the server's listener would set it up.
    func connect() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(LinkHandler(runtime: runtime, limits: .default, outbound: false))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4000)).wait()
        return channel
    }

    func send(_ channel: EmbeddedChannel, _ messages: [Message]) throws {
        var buffer = ByteBuffer()
        for m in messages { _ = buffer.writeCRCMessage(m) }
        try send(channel, buffer)
    }

    /// One read burst of `bytes` (an embedded channel completes the read at once), then the end
    /// of the loop's turn.
    func send(_ channel: EmbeddedChannel, _ bytes: ByteBuffer) throws {
        try channel.writeInbound(bytes)
        loop.run()
    }

    /// Every write the server made on a channel, each parsed into its messages.
    func writes(_ channel: EmbeddedChannel) throws -> [[Message]] {
        var out: [[Message]] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            out.append(try MessageParser().parseAll(&buffer))
        }
        return out
    }

    func client(_ id: UInt32) throws -> EmbeddedChannel {
        let c = try connect()
        try send(c, [.clientRegistration(Registration(sourceID: id, lastHopID: 0, name: "c\(id)", info: ""))])
        return c
    }

    func testChatsOfOneReadBurstLeaveInOneWrite() throws {
        let a = try client(101), b = try client(102)
        _ = try writes(a)
        _ = try writes(b)
        try send(a, (1...3).map { .clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "chat \($0)")) })
        let got = try writes(b)
        XCTAssertEqual(got.count, 1, "three chats read at once must leave in one write: \(got)")
        XCTAssertEqual(got.first?.count, 3)
        XCTAssertEqual(got.first?.last, .clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "chat 3")))
    }

    /// The link handler frames messages itself: a chat that arrives a few bytes at a time, split
    /// anywhere (inside the header, inside the text, across two messages), is relayed whole.
    func testMessagesSplitAcrossReadsAreRelayedWhole() throws {
        let a = try client(101), b = try client(102)
        _ = try writes(a)
        _ = try writes(b)
        let chats = (1...3).map { Message.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "chat number \($0)")) }
        var bytes = ByteBuffer()
        for m in chats { _ = bytes.writeCRCMessage(m) }
        for chunkSize in [1, 5, 13] {
            var rest = bytes
            while rest.readableBytes > 0 {
                try send(a, rest.readSlice(length: min(chunkSize, rest.readableBytes))!)
            }
            XCTAssertEqual(try writes(b).flatMap { $0 }, chats, "read \(chunkSize) bytes at a time")
        }
        XCTAssertTrue(a.isActive)
        XCTAssertEqual(logged.named("protocol_error"), [])
    }

    func testAConnectionThatEndsInsideAMessageIsAProtocolError() throws {
        let a = try client(101), b = try client(102)
        _ = try writes(b)
        var bytes = ByteBuffer()
        _ = bytes.writeCRCMessage(.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "cut short")))
        try send(a, bytes.getSlice(at: 0, length: 20)!)
        try a.close().wait()
        loop.run()
        let errors = logged.named("protocol_error")
        XCTAssertEqual(errors.count, 1, "\(logged.all)")
        XCTAssertTrue(errors.first?.contains("20 bytes of it received") ?? false, "\(errors)")
        // b hears that a left, and no part of the chat.
        XCTAssertFalse(try writes(b).flatMap { $0 }.contains { if case .clientChat = $0 { return true }; return false })
    }

    func testNothingIsReadAfterAProtocolError() throws {
        let a = try client(101), b = try client(102)
        _ = try writes(b)
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt8(0x7f))  // no such message type
        _ = bytes.writeCRCMessage(.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "after the garbage")))
        try send(a, bytes)
        XCTAssertFalse(a.isActive, "a link that breaks the protocol is closed")
        XCTAssertEqual(logged.named("protocol_error").count, 1, "\(logged.all)")
        XCTAssertFalse(try writes(b).flatMap { $0 }.contains { if case .clientChat = $0 { return true }; return false },
                       "a chat after the bad bytes was relayed")
    }

    /// The runtime writes through the link handler's context, and the handler knows its link:
    /// once the connection closes, nothing may keep the two (and the channel) alive.
    func testAClosedLinkIsFreed() throws {
        var a: EmbeddedChannel? = try client(101)
        weak var channel = a
        weak var link = runtime.link(for: a!)
        XCTAssertNotNil(link)
        try a!.close().wait()
        loop.run()
        a = nil
        XCTAssertNil(link, "a closed link's state is still held")
        XCTAssertNil(channel, "a closed link's channel is still held")
    }

    func testAConnectionThatNeverRegistersIsClosedAfterTheTimeout() throws {
        let silent = try connect()
        loop.advanceTime(by: .milliseconds(1_900))
        XCTAssertTrue(silent.isActive, "closed before its time")
        loop.advanceTime(by: .milliseconds(200))
        XCTAssertFalse(silent.isActive, "still open after the register timeout")
        // A registered client is not cut.
        let c = try client(101)
        loop.advanceTime(by: .seconds(5))
        XCTAssertTrue(c.isActive)
    }

    func testAPeerThatTakesNothingPausesTheOthersAndIsCutAfterTheSlowConsumerTimeout() throws {
        let sender = try client(101), stuck = try client(102)
        _ = try writes(sender)
        _ = try writes(stuck)
        // The stuck client's channel stops taking bytes: the server stops reading the sender.
        stuck.isWritable = false
        stuck.pipeline.fireChannelWritabilityChanged()
        try send(sender, [.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "hello?"))])
        let ctx = try XCTUnwrap(runtime.link(for: sender))
        // The write that finds the link full marks it blocked, and the read burst that produced
        // it is the sender's last until the link drains.
        XCTAssertTrue(ctx.readPaused, "the sender is still read while its destination takes nothing")
        // What was already read goes on to the stuck peer all the same.
        try send(sender, [.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "anyone?"))])
        XCTAssertTrue(ctx.readPaused)
        // In the first wait it still took something ("anyone?" left the server's queue: an
        // embedded channel takes what it is written), so it is slow, not stuck, and the wait
        // starts again; in the second it takes nothing: cut, and the sender is read again.
        loop.advanceTime(by: .seconds(2))
        XCTAssertTrue(stuck.isActive)
        loop.advanceTime(by: .seconds(2))
        XCTAssertTrue(stuck.isActive, "cut although it took a message during the wait")
        loop.advanceTime(by: .seconds(3))
        XCTAssertFalse(stuck.isActive, "a peer that takes nothing for 3 s must be cut")
        XCTAssertFalse(ctx.readPaused, "the others must be read again once the stuck peer is gone")
    }
}

/// Log lines as "event key=value ...", kept for the test to read.
final class LoggedEvents: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    func named(_ event: String) -> [String] { all.filter { $0.hasPrefix(event + " ") || $0 == event } }
}

struct CollectingLogHandler: LogHandler {
    let events: LoggedEvents
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        XCTAssertNotNil(NodeEvent.Kind(rawValue: message.description), "the server logged '\(message)', an event the contract (NodeEvent.Kind) lacks")
        let fields = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        events.append(([message.description] + fields).joined(separator: " "))
    }
}
