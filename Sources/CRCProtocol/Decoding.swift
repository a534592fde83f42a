import NIOCore

/// Why a byte stream is not CRC. Any of these closes the connection it arrived on.
public enum ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownType(UInt8)
    case textTooLong(type: MessageType, length: UInt32, limit: Int)
    case truncated(bufferedBytes: Int)

    public var description: String {
        switch self {
        case .unknownType(let t):
            return "unknown message type 0x\(String(t, radix: 16, uppercase: false).leftPadded(to: 2))"
        case .textTooLong(let type, let length, let limit):
            return "\(type) text of \(length) bytes exceeds the limit of \(limit) bytes"
        case .truncated(let n):
            return "connection closed in the middle of a message (\(n) bytes of it received)"
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Incremental CRC parser. Feed it whatever bytes arrived; it returns whole messages and leaves
/// the rest in the buffer until more bytes come. It never reads past a message's end and never
/// allocates for text: variable fields are slices of the input buffer.
public struct MessageParser: Sendable {
    public var limits: Limits

    public init(limits: Limits = .default) {
        self.limits = limits
    }

    /// Parses one message from the front of `buffer`, or returns nil when it is not complete yet.
    /// Throws a `ProtocolError` as soon as the header shows the stream cannot be CRC.
    @inlinable
    public func parse(_ buffer: inout ByteBuffer) throws -> Message? {
        let start = buffer.readerIndex
        guard let typeByte = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        guard let type = MessageType(rawValue: typeByte) else { throw ProtocolError.unknownType(typeByte) }
        guard buffer.readableBytes >= type.headerLength else { return nil }
        switch type {
        case .serverRegistration, .clientRegistration:
            let (_, source, lastHop, nameLen, infoLen) = buffer.getMultipleIntegers(
                at: start, as: (UInt8, UInt32, UInt32, UInt8, UInt16).self)!
            let total = 12 + Int(nameLen) + Int(infoLen)
            guard buffer.readableBytes >= total else { return nil }
            let name = buffer.getSlice(at: start + 12, length: Int(nameLen))!
            let info = buffer.getSlice(at: start + 12 + Int(nameLen), length: Int(infoLen))!
            buffer.moveReaderIndex(forwardBy: total)
            let r = Registration(sourceID: source, lastHopID: lastHop, name: name, info: info)
            return type == .serverRegistration ? .serverRegistration(r) : .clientRegistration(r)
        case .status:
            let (_, source, dest, code, len) = buffer.getMultipleIntegers(
                at: start, as: (UInt8, UInt32, UInt32, UInt16, UInt32).self)!
            guard let text = try slice(&buffer, type: type, headerLength: 15, length: len) else { return nil }
            return .status(Status(sourceID: source, destinationID: dest, code: StatusCode(rawValue: code), text: text))
        case .serverQuit:
            let (_, source, replacement, len) = buffer.getMultipleIntegers(
                at: start, as: (UInt8, UInt32, UInt32, UInt32).self)!
            guard let text = try slice(&buffer, type: type, headerLength: 13, length: len) else { return nil }
            return .serverQuit(ServerQuit(sourceID: source, replacementID: replacement, text: text))
        case .clientChat:
            let (_, source, dest, len) = buffer.getMultipleIntegers(
                at: start, as: (UInt8, UInt32, UInt32, UInt32).self)!
            guard let text = try slice(&buffer, type: type, headerLength: 13, length: len) else { return nil }
            return .clientChat(ClientChat(sourceID: source, destinationID: dest, text: text))
        case .clientQuit:
            let (_, source, len) = buffer.getMultipleIntegers(at: start, as: (UInt8, UInt32, UInt32).self)!
            guard let text = try slice(&buffer, type: type, headerLength: 9, length: len) else { return nil }
            return .clientQuit(ClientQuit(sourceID: source, text: text))
        }
    }

    @inlinable
    func slice(_ buffer: inout ByteBuffer, type: MessageType, headerLength: Int, length: UInt32) throws -> ByteBuffer? {
        guard length <= limits.maxTextLength else {
            throw ProtocolError.textTooLong(type: type, length: length, limit: limits.maxTextLength)
        }
        let total = headerLength + Int(length)
        guard buffer.readableBytes >= total else { return nil }
        let text = buffer.getSlice(at: buffer.readerIndex + headerLength, length: Int(length))!
        buffer.moveReaderIndex(forwardBy: total)
        return text
    }

    /// Parses every whole message in `buffer`.
    public func parseAll(_ buffer: inout ByteBuffer) throws -> [Message] {
        var out: [Message] = []
        while let m = try parse(&buffer) { out.append(m) }
        return out
    }
}

/// SwiftNIO framing: bytes in, `Message`s out, split reads and batched reads alike.
public struct MessageDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Message
    public let parser: MessageParser

    public init(limits: Limits = .default) {
        self.parser = MessageParser(limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try parser.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            let n = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: n)
            throw ProtocolError.truncated(bufferedBytes: n)
        }
        return .needMoreData
    }
}
