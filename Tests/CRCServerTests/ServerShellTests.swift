import CRCCore
import CRCProtocol
import Logging
import NIOCore
import NIOEmbedded
import XCTest
@testable import CRCServer

/// The server's NIO shell without sockets or clocks: `EmbeddedChannel`s on an `EmbeddedEventLoop`
/// whose time the test advances. What the shell adds to the core is checked here: batching of
/// writes per read burst, the register timeout, back-pressure and the slow-consumer cut.
final class ServerShellTests: XCTestCase {
    let loop = EmbeddedEventLoop()
    var runtime: ServerRuntime!

    override func setUp() {
        var config = ServerConfiguration(id: 1, name: "hub", info: "", port: 0)
        config.registerTimeout = .seconds(2)
        config.slowConsumerTimeout = .seconds(3)
        var logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        runtime = ServerRuntime(configuration: config, eventLoop: loop, logger: logger)
        runtime.joinedSucceedWithoutUpstream()
    }

    override func tearDown() {
        try? loop.syncShutdownGracefully()
    }

    /// A connection as the server's listener would set it up.
    func connect() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ServerFrameDecoder(runtime: runtime, limits: .default)))
        try channel.pipeline.syncOperations.addHandler(LinkEventsHandler(runtime: runtime, outbound: false))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4000)).wait()
        return channel
    }

    func send(_ channel: EmbeddedChannel, _ messages: [Message]) throws {
        var buffer = ByteBuffer()
        for m in messages { _ = buffer.writeCRCMessage(m) }
        try channel.writeInbound(buffer)
        loop.run()  // the end of the loop's turn: flushes
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
        // Pausing is lazy: the write that finds the link full marks it blocked, and the sender's
        // next read burst is its last until the link drains.
        XCTAssertFalse(ctx.readPaused)
        try send(sender, [.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "anyone?"))])
        XCTAssertTrue(ctx.readPaused, "the sender is still read while its destination takes nothing")
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
