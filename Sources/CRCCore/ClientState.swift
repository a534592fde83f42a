import CRCProtocol
import NIOCore

/// Another user, as a client knows it.
public struct KnownUser: Hashable, Sendable, Codable {
    public var id: UInt32
    public var name: String
    public var info: String
    public init(id: UInt32, name: String, info: String) {
        self.id = id
        self.name = name
        self.info = info
    }
}

public struct ChatEntry: Hashable, Sendable, Codable {
    public var from: UInt32
    public var text: String
    public init(from: UInt32, text: String) {
        self.from = from
        self.text = text
    }
}

/// What happened to a client, for its user or for a program driving it.
public enum ClientEvent: Hashable, Sendable {
    case welcome(text: String)
    case refused(text: String)
    case userJoined(KnownUser)
    case userLeft(id: UInt32, name: String, text: String)
    case chat(from: UInt32, name: String?, text: String)
    case status(source: UInt32, code: StatusCode, text: String)
}

/// A client's state as a pure value: messages from its server in, events out.
public struct ClientState: Sendable {
    public let id: UInt32
    public let name: String
    public let info: String
    public private(set) var users: [UInt32: KnownUser] = [:]
    public private(set) var chatLog: [ChatEntry] = []
    public private(set) var statusLog: [String] = []
    /// Welcomed by its server.
    public private(set) var isRegistered = false
    /// Its id was refused as a duplicate.
    public private(set) var isRefused = false

    public init(id: UInt32, name: String, info: String) {
        self.id = id
        self.name = name
        self.info = info
    }

    /// The registration that opens the connection to the server.
    public var registration: Message {
        .clientRegistration(Registration(sourceID: id, lastHopID: 0, name: name, info: info))
    }

    public func chat(to destination: UInt32, text: String) -> Message {
        .clientChat(ClientChat(sourceID: id, destinationID: destination, text: text))
    }

    public func quit(text: String) -> Message {
        .clientQuit(ClientQuit(sourceID: id, text: text))
    }

    /// A user by id (decimal) or by name.
    /// Every known user called `name`, by id.
    public func users(named name: String) -> [KnownUser] {
        users.values.filter { $0.name == name }.sorted { $0.id < $1.id }
    }

    public func user(named key: String) -> KnownUser? {
        if let n = UInt32(key), let u = users[n] { return u }
        return users.values.filter { $0.name == key }.min { $0.id < $1.id }
    }

    public mutating func receive(_ message: Message) -> ClientEvent? {
        switch message {
        case .status(let s):
            let text = s.text.utf8String
            statusLog.append(text)
            if s.code == .welcome, !isRegistered {
                isRegistered = true
                return .welcome(text: text)
            }
            if s.code == .duplicateID, !isRegistered {
                isRefused = true
                return .refused(text: text)
            }
            return .status(source: s.sourceID, code: s.code, text: text)
        case .clientRegistration(let r):
            guard r.sourceID != id else { return nil }
            let user = KnownUser(id: r.sourceID, name: r.name.utf8String, info: r.info.utf8String)
            users[r.sourceID] = user
            return .userJoined(user)
        case .clientQuit(let q):
            guard let user = users.removeValue(forKey: q.sourceID) else { return nil }
            return .userLeft(id: q.sourceID, name: user.name, text: q.text.utf8String)
        case .clientChat(let c):
            let text = c.text.utf8String
            chatLog.append(ChatEntry(from: c.sourceID, text: text))
            return .chat(from: c.sourceID, name: users[c.sourceID]?.name, text: text)
        case .serverRegistration, .serverQuit:
            // Clients are told of clients only; anything else is ignored.
            return nil
        }
    }
}

/// An order-independent fingerprint of a set of user ids: the wrapping sum of a 64-bit mix of each.
/// Programs that poll many clients compare fingerprints and fetch whole lists only on a mismatch.
public func usersDigest<S: Sequence>(_ ids: S) -> String where S.Element == UInt32 {
    digest(ids.lazy.map { UInt64($0) })
}

/// The same fingerprint over (host id, first link) pairs: a server's routing table in one word.
public func hostsDigest<S: Sequence>(_ pairs: S) -> String where S.Element == (UInt32, UInt32) {
    digest(pairs.lazy.map { UInt64($0.0) << 32 | UInt64($0.1) })
}

func digest<S: Sequence>(_ values: S) -> String where S.Element == UInt64 {
    var sum: UInt64 = 0
    for v in values {
        var z = v &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        sum &+= z ^ (z >> 31)
    }
    return String(sum, radix: 16)
}
