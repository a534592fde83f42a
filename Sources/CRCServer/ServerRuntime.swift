import CRCCore
import CRCProtocol
import CSystemShims
import Logging
import NIOCore
#if canImport(Glibc)
import Glibc
import CRCContract
#endif

/// Carries out what the pure `ServerCore` decides. It owns the channels and their counters and is
/// confined to one event loop: every method runs on `eventLoop`, so no locks are needed.
public final class ServerRuntime: @unchecked Sendable {  // confined to `eventLoop`: every method runs on it (asserted in debug)
    /// Per-connection state. A class, so the hot path updates it in place with one lookup.
    final class LinkContext {
        let id: LinkID
        let channel: Channel
        /// The link's handler: writes start from it (the same path as the channel's, without the
        /// walk from the pipeline's tail).
        let context: ChannelHandlerContext
        let outbound: Bool
        let remote: String
        var pending: ByteBuffer
        var messagesIn: UInt64 = 0
        var bytesIn: UInt64 = 0
        var messagesOut: UInt64 = 0
        var bytesOut: UInt64 = 0
        var firstMessageHex: String?
        var dirty = false
        /// Reading from this link is paused: another link cannot take what it would produce.
        var readPaused = false {
            didSet { if readPaused { wasPaused = true } }
        }
        /// Paused at some point since the register timeout was last armed.
        var wasPaused = false
        /// Its outbound queue is past the high-water mark since this moment (nil: writable).
        var blockedSince: NIODeadline?

        init(id: LinkID, context: ChannelHandlerContext, outbound: Bool, remote: String, pending: ByteBuffer) {
            self.id = id
            self.channel = context.channel
            self.context = context
            self.outbound = outbound
            self.remote = remote
            self.pending = pending
        }
    }

    public let eventLoop: EventLoop
    public let logger: Logger
    public private(set) var core: ServerCore
    public var port: Int = 0

    private(set) var links = LinkTable()
    private var byChannel: [ObjectIdentifier: LinkContext] = [:]
    private var dirtyLinks: [LinkID] = []
    /// Links whose outbound queue is past the channel's high-water mark (back-pressure).
    var blocked: Set<LinkID> = []
    /// Links paused by back-pressure (some may have closed since).
    var pausedLinks: [LinkID] = []
    private var actions: [Action] = []
    private var shuttingDown = false
    private var runningActions = false
    private let joined: EventLoopPromise<Void>
    private let fatal: EventLoopPromise<String>

    /// Succeeds once the upstream accepted this server (at once when there is no upstream).
    public var joinedFuture: EventLoopFuture<Void> { joined.futureResult }
    /// Succeeds with a reason when the server must stop with an error (its id was refused).
    public var fatalFuture: EventLoopFuture<String> { fatal.futureResult }

    let configuration: ServerConfiguration

    /// Opens a new connection to the upstream (set when there is one): the first join, and every
    /// rejoin after the upstream link was lost.
    var connectUpstream: (@Sendable () -> EventLoopFuture<Channel>)?
    /// The address of the upstream link that just closed, for the `upstream_lost` line.
    private(set) var lostUpstreamRemote = "?"

    public init(configuration: ServerConfiguration, eventLoop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.core = ServerCore(id: configuration.id, name: configuration.name, info: configuration.info,
                               logsRouting: logger.logLevel <= .debug)
        self.core.sendsServerQuit = configuration.compat == .standard
        self.joined = eventLoop.makePromise()
        self.fatal = eventLoop.makePromise()
        actions.reserveCapacity(64)
    }

    /// Completes the promises nobody will complete any more (startup failed, or the server is done).
    func abandon() {
        struct Abandoned: Error {}
        joined.fail(Abandoned())
        fatal.fail(Abandoned())
    }

    func joinedSucceedWithoutUpstream() {
        joined.succeed(())
    }

    // MARK: Link lifecycle (called by LinkHandler)

    func linkOpened(context: ChannelHandlerContext, outbound: Bool) -> LinkContext? {
        eventLoop.preconditionInEventLoop()
        let channel = context.channel
        if !outbound, links.count >= configuration.maxConnections {
            logger.warning(.connectionRefused, metadata: ["remote": .string(Self.describe(channel.remoteAddress)),
                                                            "reason": .string("already \(links.count) connections (--max-connections)")])
            channel.close(promise: nil)
            return nil
        }
        let id = links.makeID()
        let ctx = LinkContext(id: id, context: context, outbound: outbound,
                              remote: Self.describe(channel.remoteAddress),
                              pending: channel.allocator.buffer(capacity: 0))
        links.insert(ctx)
        byChannel[ObjectIdentifier(channel)] = ctx
        core.linkOpened(id, outbound: outbound, into: &actions)
        runActions()
        flush()
        if !outbound { scheduleRegisterTimeout(id) }
        return ctx
    }

    /// A connection that has not registered in time is closed, unless the server itself held it
    /// back (its reading paused by back-pressure): then it gets the time again.
    private func scheduleRegisterTimeout(_ id: LinkID) {
        let timeout = configuration.registerTimeout
        eventLoop.scheduleTask(in: timeout) { [self] in
            guard let ctx = links[id], core.peers[id] == .unregistered else { return }
            if ctx.readPaused || ctx.wasPaused {
                ctx.wasPaused = false
                scheduleRegisterTimeout(id)
                return
            }
            logger.warning(.registerTimeout, metadata: ["link": .stringConvertible(id.rawValue), "remote": .string(ctx.remote),
                                                          "reason": .string("did not register within \(timeout.nanoseconds / 1_000_000) ms")])
            ctx.channel.close(promise: nil)
        }
    }

    /// "127.0.0.1:40313" (NIO's own description reads "[IPv4]127.0.0.1/127.0.0.1:40313").
    static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return address?.description ?? "?" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    @inline(__always)
    func received(_ message: Message, on ctx: LinkContext) {
        ctx.messagesIn &+= 1
        ctx.bytesIn &+= UInt64(message.wireSize)
        if ctx.firstMessageHex == nil { ctx.firstMessageHex = message.hex }
        core.receive(message, on: ctx.id, into: &actions)
        runActions()
    }

    func linkClosed(_ link: LinkID) {
        guard let ctx = links.removeValue(forKey: link) else { return }
        byChannel[ObjectIdentifier(ctx.channel)] = nil
        if blocked.remove(link) != nil { updateReading() }
        if ctx.outbound { lostUpstreamRemote = ctx.remote }
        core.linkClosed(link, into: &actions)
        runActions()
        flush()
    }

    // MARK: Joining and rejoining the upstream (the rules are ServerCore's; this carries them out)

    /// The first connection to the upstream is about to be opened.
    func beginJoin() {
        core.rejoinsUpstream = configuration.rejoinUpstream
        core.joinUpstream()
    }

    private func connectForRejoin() {
        guard let connect = connectUpstream else { return }
        logger.debug(.rejoinAttempt, metadata: ["upstream": .string(configuration.upstream.map { "\($0.host):\($0.port)" } ?? "?")])
        connect().whenFailure { [self] error in
            logger.debug(.rejoinFailed, metadata: ["error": .string(ServerApp.describe(error))])
            core.upstreamConnectFailed(into: &actions)
            runActions()
        }
    }

    private func scheduleRejoin(after ms: Int) {
        eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) { [self] in
            core.rejoinTimerFired(into: &actions)
            runActions()
            flush()
        }
    }

    func protocolError(_ error: Error, on link: LinkID) {
        guard let ctx = links[link] else { return }
        // One warning a second per address and kind of error (numbers aside), however many
        // connections from it misbehave the same way.
        let address = ctx.remote.split(separator: ":").dropLast().joined(separator: ":")
        let kind = String("\(error)".map { $0.isHexDigit && !$0.isLetter ? "#" : $0 })
        if throttle("protocol_error|\(address)|\(kind)", nil, summary: { [logger] count in
            logger.warning(.protocolError, metadata: ["remote_address": .string(address), "count": .stringConvertible(count),
                                                        "reason": .string("repeated in the last second: \(kind)")])
        }) {
            logger.warning(.protocolError, metadata: ["link": .stringConvertible(link.rawValue), "remote": .string(ctx.remote),
                                                        "reason": .string("\(error)")])
        }
        ctx.channel.close(promise: nil)
    }

    /// The link carried by `channel`, if it is open.
    func link(for channel: Channel) -> LinkContext? {
        byChannel[ObjectIdentifier(channel)]
    }

    /// Flushes so far; the trim timer compares it with what it saw a second before.
    private var activity: UInt64 = 0
    private var trimScheduled = false

    /// After a burst of traffic the allocator keeps the memory it used; give it back to the system
    /// once the server has been idle for a second (one to two seconds after its last write), so an
    /// idle server stays small. Counted, not timed: reading the clock on every flush was 3 % of
    /// the relay's user time on the latency path.
    private func noteActivity() {
        activity &+= 1
        guard !trimScheduled else { return }
        trimScheduled = true
        scheduleTrimCheck(seen: activity)
    }

    private func scheduleTrimCheck(seen: UInt64) {
        eventLoop.scheduleTask(in: .seconds(1)) { [self] in self.trimIfIdle(seen: seen) }
    }

    private func trimIfIdle(seen: UInt64) {
        if activity == seen {
            trimScheduled = false
            // Outbound buffers keep the capacity of the largest burst they carried: let it go.
            for ctx in links.values where !ctx.dirty && ctx.pending.capacity > 1024 {
                ctx.pending = ctx.channel.allocator.buffer(capacity: 0)
            }
            #if os(Linux)
            _ = crc_malloc_trim(0)
            #endif
        } else {
            scheduleTrimCheck(seen: activity)
        }
    }

    private var flushScheduled = false

    /// A read burst completed. What it produced for one link only (a chat passing through) is
    /// written at once: nothing else in this turn would join it, and waiting for the end of the
    /// turn costs a task on the relay's latency path. What it produced for several links is
    /// written once every channel that was readable in this turn of the loop has been read, so
    /// that a link that several bursts feed (every client hearing of every join, in a
    /// registration storm) costs one write, not one per burst.
    func readBurstEnded() {
        if dirtyLinks.isEmpty {
            noteActivity()
        } else if dirtyLinks.count == 1, !flushScheduled {
            flush()
        } else {
            flushAtEndOfTurn()
        }
    }

    private func flushAtEndOfTurn() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute { [self] in
            flushScheduled = false
            flush()
        }
    }

    /// Writes every buffered outbound message.
    func flush() {
        noteActivity()
        guard !dirtyLinks.isEmpty else { return }
        for link in dirtyLinks {
            flushOne(link)
        }
        dirtyLinks.removeAll(keepingCapacity: true)
    }

    // MARK: Shutdown

    /// Announces the departure, flushes, and closes every link. Completes when all are closed.
    public func shutdown(text: String) -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        if shuttingDown { return eventLoop.makeSucceededVoidFuture() }
        shuttingDown = true
        let channels = links.values.map(\.channel)
        core.shutdown(text: text, into: &actions)
        runActions()
        flush()
        let closes = channels.map { $0.closeFuture }
        return EventLoopFuture.andAllComplete(closes, on: eventLoop)
    }

    /// Repeated events being summarised (`ServerRuntime+Logging.swift`), by kind.
    var repeats: [String: Repeats] = [:]

    // MARK: Monitoring

    public func snapshot() -> ServerSnapshot {
        eventLoop.preconditionInEventLoop()
        let linkStates: [ServerSnapshot.Link] = links.keys.sorted().map { id in
            let ctx = links[id]!
            let peer = core.peers[id] ?? .departed
            let queued = (try? ctx.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
            return ServerSnapshot.Link(
                link: id.rawValue, peerKind: peer.kindName, peerID: peer.peerID,
                direction: ctx.outbound ? "outbound" : "inbound", remoteAddress: ctx.remote,
                messagesIn: ctx.messagesIn, bytesIn: ctx.bytesIn, messagesOut: ctx.messagesOut, bytesOut: ctx.bytesOut,
                bytesPending: queued + ctx.pending.readableBytes, firstMessageHex: ctx.firstMessageHex)
        }
        return core.snapshot(port: port, links: linkStates)
    }

    // MARK: Carrying out actions

    /// Executes queued actions in order. Re-entrant calls (closing a channel fires its
    /// channelInactive at once, which queues more actions) only append; the outermost call runs them.
    @inline(__always)
    private func runActions() {
        guard !runningActions, !actions.isEmpty else { return }
        runningActions = true
        defer { runningActions = false }
        var i = 0
        while i < actions.count {
            let action = actions[i]
            i += 1
            switch action {
            case .send(let message, let link):
                send(message, on: link)
            case .sendEncoded(let bytes, let count, let link):
                guard let ctx = links[link] else { continue }
                ctx.pending.writeImmutableBuffer(bytes)
                ctx.messagesOut &+= UInt64(count)
                ctx.bytesOut &+= UInt64(bytes.readableBytes)
                if !ctx.dirty {
                    ctx.dirty = true
                    dirtyLinks.append(link)
                }
            case .sendToEach(let message, let targets, let except):
                // Encoded once, copied to each link's batch.
                scratch.clear()
                let n = scratch.writeCRCMessage(message)
                for link in targets where link != except {
                    guard let ctx = links[link] else { continue }
                    ctx.pending.writeImmutableBuffer(scratch)
                    ctx.messagesOut &+= 1
                    ctx.bytesOut &+= UInt64(n)
                    if !ctx.dirty {
                        ctx.dirty = true
                        dirtyLinks.append(link)
                    }
                }
            case .close(let link, let reason):
                if let ctx = links[link] {
                    logger.debug(.linkClosing, metadata: ["link": .stringConvertible(link.rawValue), "reason": .string(reason)])
                    flushOne(link)
                    ctx.channel.close(promise: nil)
                }
            case .log(let event):
                if let key = Self.throttleKey(event), !throttle(key, event) { continue }
                log(event)
            case .connectUpstream:
                connectForRejoin()
            case .scheduleRejoin(let ms):
                scheduleRejoin(after: ms)
            case .joinedUpstream(let first):
                if first {
                    joined.succeed(())
                } else {
                    let link = core.upstreamLink
                    var md: Logger.Metadata = ["link": .stringConvertible(link?.rawValue ?? 0)]
                    if let link, case .server(let sid)? = core.peers[link] { md["upstream"] = .stringConvertible(sid) }
                    logger.info(.rejoined, metadata: md)
                }
            case .fatal(let reason):
                logger.error(.fatal, metadata: ["reason": .string(reason)])
                let fatal = self.fatal
                eventLoop.execute { fatal.succeed(reason) }
            }
        }
        actions.removeAll(keepingCapacity: true)
    }

    /// Where a message sent to many links is encoded.
    private var scratch = ByteBuffer()

    @inline(__always)
    private func send(_ message: Message, on link: LinkID) {
        guard let ctx = links[link] else { return }
        let n = ctx.pending.writeCRCMessage(message)
        ctx.messagesOut &+= 1
        ctx.bytesOut &+= UInt64(n)
        if !ctx.dirty {
            ctx.dirty = true
            dirtyLinks.append(link)
        }
    }

    private func flushOne(_ link: LinkID) {
        guard let ctx = links[link], ctx.dirty else { return }
        ctx.dirty = false
        ctx.context.writeAndFlush(NIOAny(ctx.pending), promise: nil)
        // The batch buffer is used again: a write that completed at once (the usual case) let go
        // of it, and one that did not keeps its bytes while `clear` gives this link a new buffer.
        ctx.pending.clear(minimumCapacity: 1024)
        guard !ctx.channel.isWritable else { return }
        // Back-pressure: the peer takes less than it is sent. Stop reading from every other link
        // until it catches up, so TCP flow control slows the producers down (see `updateReading`).
        if ctx.blockedSince == nil {
            ctx.blockedSince = .now()
            blocked.insert(link)
            updateReading()
            scheduleSlowConsumerCheck(link, since: ctx.blockedSince!)
        }
        // A hard cap on memory all the same (one read burst fanned out can pass the mark).
        if let queued = try? ctx.channel.syncOptions?.getOption(.bufferedWritableBytes) {
            let isServer: Bool
            if case .server = core.peers[link] { isServer = true } else { isServer = false }
            let limit = isServer ? configuration.maxServerQueueBytes : configuration.maxClientQueueBytes
            if queued > limit {
                logger.warning(.slowConsumer, metadata: ["link": .stringConvertible(link.rawValue), "remote": .string(ctx.remote),
                                                           "queued_bytes": .stringConvertible(queued), "limit": .stringConvertible(limit)])
                ctx.channel.close(mode: .all, promise: nil)
            }
        }
    }
}
