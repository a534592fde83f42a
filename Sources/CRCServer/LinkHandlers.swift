import CRCContract
import CRCCore
import CRCProtocol
import Logging
import NIOCore

/// The one handler of a link's pipeline: frames the bytes it reads into messages (CRCProtocol's
/// parser) and hands each to the runtime directly, flushes what a read burst produced, and reports
/// writability, closes and errors.
///
/// One handler rather than NIO's `ByteToMessageHandler` and a second handler for the events: a
/// message crosses four servers in a chain, and on each the time from reading it to writing it
/// on is the relay's latency. This handler parses straight out of the buffer NIO read into (a
/// partial message at its end is kept for the next read), knows its link without a lookup, and
/// the runtime writes through its context; `scripts/bench.sh` measured the difference (README,
/// Performance).
final class LinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let runtime: ServerRuntime
    private let parser: MessageParser
    private let outbound: Bool
    private var link: ServerRuntime.LinkContext?
    /// The start of a message whose end has not arrived yet.
    private var partial: ByteBuffer?
    /// The peer broke the protocol: the link is closing, and nothing more it sent is read.
    private var failed = false

    init(runtime: ServerRuntime, limits: Limits, outbound: Bool) {
        self.runtime = runtime
        self.parser = MessageParser(limits: limits)
        self.outbound = outbound
    }

    func channelActive(context: ChannelHandlerContext) {
        link = runtime.linkOpened(context: context, outbound: outbound)
        if link != nil { context.fireChannelActive() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let link, !failed else { return }
        var bytes = unwrapInboundIn(data)
        do {
            if var buffer = partial {
                partial = nil
                buffer.writeBuffer(&bytes)
                try parse(&buffer, on: link)
                if buffer.readableBytes > 0 {
                    buffer.discardReadBytes()
                    partial = buffer
                }
            } else {
                try parse(&bytes, on: link)
                // Copied out, so that NIO can read into its buffer again.
                if bytes.readableBytes > 0 { partial = ByteBuffer(buffer: bytes) }
            }
        } catch {
            failed = true
            partial = nil
            runtime.protocolError(error, on: link.id)
        }
    }

    /// Hands every whole message in `buffer` to the runtime.
    @inline(__always)
    private func parse(_ buffer: inout ByteBuffer, on link: ServerRuntime.LinkContext) throws {
        while let message = try parser.parse(&buffer) {
            runtime.received(message, on: link)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard let link else { return }
        runtime.readBurstEnded()
        runtime.pauseIfBackPressured(link)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let link { runtime.writabilityChanged(link.id) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let link {
            // The connection ended inside a message.
            if !failed, let rest = partial, rest.readableBytes > 0 {
                runtime.protocolError(ProtocolError.truncated(bufferedBytes: rest.readableBytes), on: link.id)
            }
            partial = nil
            runtime.linkClosed(link.id)
            // The link's state holds this handler's context: let go of it, or each would keep
            // the other (and the channel) alive.
            self.link = nil
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let link {
            runtime.logger.info(.linkError, metadata: ["link": .stringConvertible(link.id.rawValue), "error": .string("\(error)")])
        }
        context.close(promise: nil)
    }
}
