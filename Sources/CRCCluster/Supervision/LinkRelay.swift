import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A small TCP relay that sits on one server link, in the manner of Toxiproxy: the downstream
/// server connects to the relay, the relay connects to the upstream, and bytes flow both ways.
/// crc-cluster uses it to cut, delay and heal a link without root.
///
/// - `cut()` closes every connection through the relay and closes new ones as soon as they are
///   accepted, so the downstream server sees its upstream go away and keeps trying to rejoin.
/// - `setDelay(_:)` holds every chunk of bytes for that long before passing it on, in order.
/// - `heal()` undoes both.
///
/// With a `tap`, the relay also frames the CRC messages that pass, both ways, and records them
/// (`WireLog`): crc-cluster's black-box view of a link. With a `gate` (`crc-cluster explore`), it
/// holds each framed message until the gate passes it on, and records it then.
///
/// Every connection and all of the relay's state live on one event loop (`NIOLoopBoundBox`: an
/// access from anywhere else stops the program).
public final class LinkRelay: Sendable {
    public let name: String
    let tap: WireLog?
    let gate: (any DeliveryGate)?
    private let loop: EventLoop
    private let targetHost: String
    private let targetPort: Int

    private struct State {
        var connections = 0
        var listener: Channel?
        var pairs: [ObjectIdentifier: Channel] = [:]
        var isCut = false
        var delay: TimeAmount = .zero
    }

    private let state: NIOLoopBoundBox<State>
    private let boundPort = NIOLockedValueBox(0)

    /// The port the downstream server connects to.
    public var port: Int { boundPort.withLockedValue { $0 } }

    /// How long each chunk is held (read on the loop).
    fileprivate var delay: TimeAmount { state.value.delay }

    public init(name: String, targetHost: String = "127.0.0.1", targetPort: Int, loop: EventLoop, tap: WireLog? = nil,
                gate: (any DeliveryGate)? = nil) {
        self.name = name
        self.tap = tap
        self.gate = gate
        self.loop = loop
        self.targetHost = targetHost
        self.targetPort = targetPort
        self.state = .makeBoxSendingValue(State(), eventLoop: loop)
    }

    /// Starts listening on a free loopback port.
    public func start() throws {
        let channel = try ServerBootstrap(group: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { [self] inbound in
                inbound.eventLoop.makeCompletedFuture { try self.accepted(inbound) }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        try loop.submit { [self] in state.value.listener = channel }.wait()
        boundPort.withLockedValue { $0 = channel.localAddress?.port ?? 0 }
    }

    public func cut() {
        try? loop.submit { [self] in
            state.value.isCut = true
            for channel in state.value.pairs.values { channel.close(promise: nil) }
        }.wait()
    }

    public func setDelay(_ amount: TimeAmount) {
        try? loop.submit { [self] in state.value.delay = amount }.wait()
    }

    public func heal() {
        try? loop.submit { [self] in
            state.value.isCut = false
            state.value.delay = .zero
        }.wait()
    }

    public func close() {
        try? loop.submit { [self] in
            for channel in state.value.pairs.values { channel.close(promise: nil) }
            state.value.listener?.close(promise: nil)
        }.wait()
    }

    // MARK: Connections

    /// A downstream connection arrived: connect it through, or close it while the link is cut.
    private func accepted(_ inbound: Channel) throws {
        guard !state.value.isCut else {
            inbound.close(promise: nil)
            return
        }
        gate?.relayActivity()
        state.value.connections += 1
        let connection = state.value.connections
        let toUpstream = Forwarder(relay: self, connection: connection, direction: .up)
        let toDownstream = Forwarder(relay: self, connection: connection, direction: .down)
        toDownstream.partner = inbound
        try inbound.pipeline.syncOperations.addHandler(toUpstream)
        track(inbound)
        // The handlers stay on this loop: the outbound connection is made on it too.
        let (up, down) = (NIOLoopBound(toUpstream, eventLoop: loop), NIOLoopBound(toDownstream, eventLoop: loop))
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { outbound in
                outbound.eventLoop.makeCompletedFuture { try outbound.pipeline.syncOperations.addHandler(down.value) }
            }
            .connect(host: targetHost, port: targetPort)
            .whenComplete { [self] result in
                gate?.relayActivity()
                switch result {
                case .success(let outbound):
                    track(outbound)
                    if state.value.isCut || !inbound.isActive {
                        outbound.close(promise: nil)
                        inbound.close(promise: nil)
                        return
                    }
                    up.value.partner = outbound
                    inbound.setOption(.autoRead, value: true).whenComplete { _ in }
                case .failure:
                    inbound.close(promise: nil)  // the upstream is down: so is this link
                }
            }
    }

    private func track(_ channel: Channel) {
        state.value.pairs[ObjectIdentifier(channel)] = channel
        channel.closeFuture.whenComplete { [self] _ in state.value.pairs[ObjectIdentifier(channel)] = nil }
    }
}

/// Reads one side and writes to the other, each chunk after the relay's current delay, in order.
private final class Forwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    unowned let relay: LinkRelay
    let connection: Int
    let direction: WireDirection
    private var framer = WireFramer()
    var partner: Channel?
    private var queue: CircularBuffer<(due: NIODeadline, bytes: ByteBuffer)> = []
    private var timerArmed = false
    private var closeWhenDrained = false

    init(relay: LinkRelay, connection: Int, direction: WireDirection) {
        self.relay = relay
        self.connection = connection
        self.direction = direction
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if let gate = relay.gate { return hold(bytes, gate: gate, loop: context.eventLoop) }
        if let tap = relay.tap {
            for event in framer.feed(bytes) {
                tap.append(link: relay.name, connection: connection, direction: direction, event)
            }
        }
        if relay.delay == .zero, queue.isEmpty {
            partner?.writeAndFlush(bytes, promise: nil)
        } else {
            queue.append((.now() + relay.delay, bytes))
            arm(context.eventLoop)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let gate = relay.gate {
            let this = NIOLoopBound(self, eventLoop: context.eventLoop), loop = context.eventLoop
            gate.hold(HeldMessage(link: relay.name, connection: connection, direction: direction, event: .closed)) {
_ in loop.submit { this.value.passClose() }
            }
            return context.fireChannelInactive()
        }
        if direction == .up { relay.tap?.append(link: relay.name, connection: connection, direction: .up, .closed) }
        if queue.isEmpty { partner?.close(promise: nil) } else { closeWhenDrained = true }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    // MARK: Held for a gate

    /// Hands each whole message in `bytes` to the gate, to be written (and recorded) when it says.
    private func hold(_ bytes: ByteBuffer, gate: any DeliveryGate, loop: EventLoop) {
        gate.relayActivity()
        let this = NIOLoopBound(self, eventLoop: loop)
        for (event, raw) in framer.split(bytes) {
            gate.hold(HeldMessage(link: relay.name, connection: connection, direction: direction, event: event)) {
reordered in loop.flatSubmit { this.value.pass(event, raw, reordered: reordered, loop: loop) }
            }
        }
    }

    private var reportedUndecodable = false

    private func pass(_ event: WireRecord.Event, _ raw: ByteBuffer, reordered: Bool, loop: EventLoop) -> EventLoopFuture<Void> {
        relay.gate?.relayActivity()
        if case .undecodable = event, reportedUndecodable {} else {
            if case .undecodable = event { reportedUndecodable = true }
            relay.tap?.append(link: relay.name, connection: connection, direction: direction, event, reordered: reordered)
        }
        guard let partner else { return loop.makeSucceededVoidFuture() }
        return partner.writeAndFlush(raw).recover { _ in }
    }

    private func passClose() {
        relay.gate?.relayActivity()
        if direction == .up { relay.tap?.append(link: relay.name, connection: connection, direction: .up, .closed) }
        partner?.close(promise: nil)
    }

    private func arm(_ loop: EventLoop) {
        guard !timerArmed, let head = queue.first else { return }
        timerArmed = true
        let handler = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(deadline: head.due) {
            handler.value.timerArmed = false
            handler.value.drain(loop)
        }
    }

    private func drain(_ loop: EventLoop) {
        let now = NIODeadline.now()
        while let head = queue.first, head.due <= now {
            queue.removeFirst()
            partner?.write(head.bytes, promise: nil)
        }
        partner?.flush()
        if queue.isEmpty {
            if closeWhenDrained { partner?.close(promise: nil) }
        } else {
            arm(loop)
        }
    }
}
