import NIOCore

extension ByteBuffer {
    /// Appends `message` in CRC wire format. Names longer than 255 bytes and infos longer than
    /// 65,535 bytes cannot be represented and are truncated to fit their length fields.
    @inlinable
    @discardableResult
    public mutating func writeCRCMessage(_ message: Message) -> Int {
        let start = writerIndex
        switch message {
        case .serverRegistration(let r):
            writeRegistration(type: .serverRegistration, r)
        case .clientRegistration(let r):
            writeRegistration(type: .clientRegistration, r)
        case .status(let s):
            writeMultipleIntegers(MessageType.status.rawValue, s.sourceID, s.destinationID, s.code.rawValue,
                                  UInt32(truncatingIfNeeded: s.text.readableBytes))
            writeImmutableBuffer(s.text)
        case .serverQuit(let q):
            writeMultipleIntegers(MessageType.serverQuit.rawValue, q.sourceID, q.replacementID,
                                  UInt32(truncatingIfNeeded: q.text.readableBytes))
            writeImmutableBuffer(q.text)
        case .clientChat(let c):
            writeMultipleIntegers(MessageType.clientChat.rawValue, c.sourceID, c.destinationID,
                                  UInt32(truncatingIfNeeded: c.text.readableBytes))
            writeImmutableBuffer(c.text)
        case .clientQuit(let q):
            writeMultipleIntegers(MessageType.clientQuit.rawValue, q.sourceID,
                                  UInt32(truncatingIfNeeded: q.text.readableBytes))
            writeImmutableBuffer(q.text)
        }
        return writerIndex - start
    }

    @inlinable
    mutating func writeRegistration(type: MessageType, _ r: Registration) {
        let name = r.name.getSlice(at: r.name.readerIndex, length: min(r.name.readableBytes, 255)) ?? ByteBuffer()
        let info = r.info.getSlice(at: r.info.readerIndex, length: min(r.info.readableBytes, 65_535)) ?? ByteBuffer()
        writeMultipleIntegers(type.rawValue, r.sourceID, r.lastHopID, UInt8(name.readableBytes), UInt16(info.readableBytes))
        writeImmutableBuffer(name)
        writeImmutableBuffer(info)
    }
}

extension Message {
    /// The message's wire bytes.
    public var encoded: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(wireSize)
        buffer.writeCRCMessage(self)
        return buffer
    }

    /// The message's wire bytes in lowercase hex, as the seed's byte-level scenarios record them.
    public var hex: String { encoded.hexString }
}

extension ByteBuffer {
    /// The readable bytes in lowercase hex, no separators.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(readableBytes * 2)
        for byte in readableBytesView {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
