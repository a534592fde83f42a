import NIOCore

/// The one-byte type that opens every CRC message (docs/protocol.md, "Framing").
public enum MessageType: UInt8, Sendable, CaseIterable {
    case serverRegistration = 0x00
    case status = 0x01
    case serverQuit = 0x02
    case clientRegistration = 0x80
    case clientChat = 0x81
    case clientQuit = 0x82

    /// Header length in bytes, including the type byte.
    public var headerLength: Int {
        switch self {
        case .serverRegistration, .clientRegistration: return 12
        case .status: return 15
        case .serverQuit, .clientChat: return 13
        case .clientQuit: return 9
        }
    }
}

/// Status codes carried by a status message.
public struct StatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let welcome = StatusCode(rawValue: 0x00)
    public static let unknownID = StatusCode(rawValue: 0x01)
    public static let duplicateID = StatusCode(rawValue: 0x02)

    public var description: String {
        switch self {
        case .welcome: return "welcome"
        case .unknownID: return "unknown_id"
        case .duplicateID: return "duplicate_id"
        default: return "code_\(rawValue)"
        }
    }
}

/// A machine's name and info as it registered them, kept as the bytes that arrived (a name need
/// not be UTF-8). One immutable object shared by every copy of its registration: a server that
/// stores or forwards a registration keeps a reference, not the bytes, so a network's tables hold
/// each name and info once.
public final class HostDetails: Hashable, Sendable {
    public let name: ByteBuffer
    public let info: ByteBuffer

    /// Whether name and info hold about their own bytes only (not a slice of a larger read
    /// buffer, which keeping them would keep alive): worked out once, here, since a simulated
    /// network asks it of every copy it delivers.
    public let isCompact: Bool

    public init(name: ByteBuffer, info: ByteBuffer) {
        self.name = name
        self.info = info
        func small(_ b: ByteBuffer) -> Bool { b.storageCapacity <= 2 * b.readableBytes + 64 }
        isCompact = small(name) && small(info)
    }

    public convenience init(name: String, info: String) {
        self.init(name: ByteBuffer(string: name), info: ByteBuffer(string: info))
    }

    public static func == (a: HostDetails, b: HostDetails) -> Bool {
        a === b || (a.name == b.name && a.info == b.info)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(info)
    }
}

/// A server or client registration: both share one layout.
public struct Registration: Hashable, Sendable {
    public var sourceID: UInt32
    public var lastHopID: UInt32
    /// The name and info, shared with every other copy of this registration.
    public var details: HostDetails

    public var name: ByteBuffer {
        get { details.name }
        set { details = HostDetails(name: newValue, info: details.info) }
    }

    public var info: ByteBuffer {
        get { details.info }
        set { details = HostDetails(name: details.name, info: newValue) }
    }

    public init(sourceID: UInt32, lastHopID: UInt32, details: HostDetails) {
        self.sourceID = sourceID
        self.lastHopID = lastHopID
        self.details = details
    }

    public init(sourceID: UInt32, lastHopID: UInt32, name: ByteBuffer, info: ByteBuffer) {
        self.init(sourceID: sourceID, lastHopID: lastHopID, details: HostDetails(name: name, info: info))
    }

    public init(sourceID: UInt32, lastHopID: UInt32, name: String, info: String) {
        self.init(sourceID: sourceID, lastHopID: lastHopID, name: ByteBuffer(string: name), info: ByteBuffer(string: info))
    }

    /// True when the source is the machine at the other end of the connection.
    public var isFromAdjacent: Bool { lastHopID == 0 || lastHopID == sourceID }
}

public struct Status: Hashable, Sendable {
    public var sourceID: UInt32
    public var destinationID: UInt32
    public var code: StatusCode
    public var text: ByteBuffer

    public init(sourceID: UInt32, destinationID: UInt32, code: StatusCode, text: ByteBuffer) {
        self.sourceID = sourceID
        self.destinationID = destinationID
        self.code = code
        self.text = text
    }

    public init(sourceID: UInt32, destinationID: UInt32, code: StatusCode, text: String) {
        self.init(sourceID: sourceID, destinationID: destinationID, code: code, text: ByteBuffer(string: text))
    }
}

public struct ServerQuit: Hashable, Sendable {
    public var sourceID: UInt32
    public var replacementID: UInt32
    public var text: ByteBuffer

    public init(sourceID: UInt32, replacementID: UInt32 = 0, text: ByteBuffer) {
        self.sourceID = sourceID
        self.replacementID = replacementID
        self.text = text
    }

    public init(sourceID: UInt32, replacementID: UInt32 = 0, text: String) {
        self.init(sourceID: sourceID, replacementID: replacementID, text: ByteBuffer(string: text))
    }
}

public struct ClientChat: Hashable, Sendable {
    public var sourceID: UInt32
    public var destinationID: UInt32
    public var text: ByteBuffer

    public init(sourceID: UInt32, destinationID: UInt32, text: ByteBuffer) {
        self.sourceID = sourceID
        self.destinationID = destinationID
        self.text = text
    }

    public init(sourceID: UInt32, destinationID: UInt32, text: String) {
        self.init(sourceID: sourceID, destinationID: destinationID, text: ByteBuffer(string: text))
    }
}

public struct ClientQuit: Hashable, Sendable {
    public var sourceID: UInt32
    public var text: ByteBuffer

    public init(sourceID: UInt32, text: ByteBuffer) {
        self.sourceID = sourceID
        self.text = text
    }

    public init(sourceID: UInt32, text: String) {
        self.init(sourceID: sourceID, text: ByteBuffer(string: text))
    }
}

/// One CRC message. Variable fields are `ByteBuffer` slices, so relaying a message copies no text.
public enum Message: Hashable, Sendable {
    case serverRegistration(Registration)
    case status(Status)
    case serverQuit(ServerQuit)
    case clientRegistration(Registration)
    case clientChat(ClientChat)
    case clientQuit(ClientQuit)

    public var type: MessageType {
        switch self {
        case .serverRegistration: return .serverRegistration
        case .status: return .status
        case .serverQuit: return .serverQuit
        case .clientRegistration: return .clientRegistration
        case .clientChat: return .clientChat
        case .clientQuit: return .clientQuit
        }
    }

    /// The id of the machine that originated the message.
    public var sourceID: UInt32 {
        switch self {
        case .serverRegistration(let r), .clientRegistration(let r): return r.sourceID
        case .status(let s): return s.sourceID
        case .serverQuit(let q): return q.sourceID
        case .clientChat(let c): return c.sourceID
        case .clientQuit(let q): return q.sourceID
        }
    }

    /// Size of the message on the wire, in bytes.
    public var wireSize: Int {
        switch self {
        case .serverRegistration(let r), .clientRegistration(let r):
            return 12 + r.name.readableBytes + r.info.readableBytes
        case .status(let s): return 15 + s.text.readableBytes
        case .serverQuit(let q): return 13 + q.text.readableBytes
        case .clientChat(let c): return 13 + c.text.readableBytes
        case .clientQuit(let q): return 9 + q.text.readableBytes
        }
    }
}

extension ByteBuffer {
    /// The readable bytes as a String (UTF-8, invalid sequences repaired).
    @inlinable
    public var utf8String: String {
        String(decoding: readableBytesView, as: UTF8.self)
    }
}
