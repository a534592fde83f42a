import CRCCore
import CRCProtocol
import CSystemShims
import Logging
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// One per connection: frames bytes into messages (CRCProtocol's parser) and hands each to the
/// runtime directly, with no per-message channel-pipeline hop.
final class ServerFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Never

    private let runtime: ServerRuntime
    private let parser: MessageParser
    private var link: ServerRuntime.LinkContext?

    init(runtime: ServerRuntime, limits: Limits) {
        self.runtime = runtime
        self.parser = MessageParser(limits: limits)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if link == nil { link = runtime.link(for: context.channel) }
        guard let link else { return .needMoreData }
        while let message = try parser.parse(&buffer) {
            runtime.received(message, on: link)
        }
        return .needMoreData
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        if buffer.readableBytes > 0 {
            let n = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: n)
            throw ProtocolError.truncated(bufferedBytes: n)
        }
        return .needMoreData
    }
}

/// After the decoder: flushes what a read burst produced, and reports closes and errors.
final class LinkEventsHandler: ChannelInboundHandler {
    typealias InboundIn = Never
    private let runtime: ServerRuntime

    private let outbound: Bool

    init(runtime: ServerRuntime, outbound: Bool) {
        self.runtime = runtime
        self.outbound = outbound
    }

    func channelActive(context: ChannelHandlerContext) {
        if runtime.linkOpened(channel: context.channel, outbound: outbound) != nil {
            context.fireChannelActive()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        runtime.flushAtEndOfTurn()
        if let ctx = runtime.link(for: context.channel) { runtime.pauseIfBackPressured(ctx) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let ctx = runtime.link(for: context.channel) { runtime.writabilityChanged(ctx.id) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let ctx = runtime.link(for: context.channel) { runtime.linkClosed(ctx.id) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let ctx = runtime.link(for: context.channel) {
            if error is ProtocolError || error is ByteToMessageDecoderError {
                runtime.protocolError(error, on: ctx.id)
            } else {
                runtime.logger.info("link_error", metadata: ["link": .stringConvertible(ctx.id.rawValue), "error": .string("\(error)")])
                context.close(promise: nil)
            }
        } else {
            context.close(promise: nil)
        }
    }
}
