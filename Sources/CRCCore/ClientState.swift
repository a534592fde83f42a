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

/// The users a client knows, by id: a reference to each one's name and info (`IDMap`), so that
/// every client of a large simulated network can know every other for a few dozen bytes each.
public struct UserTable: Sendable, Sequence {
    private var map = IDMap<HostDetails>()

    public init() {}

    public var count: Int { map.count }
    public var isEmpty: Bool { map.isEmpty }
    /// The ids, in table order.
    public var keys: [UInt32] { map.keys }
    /// Every user, in table order.
    public var values: [KnownUser] { map.map { KnownUser(id: $0.0, details: $0.1) } }

    public subscript(id: UInt32) -> KnownUser? {
        map[id].map { KnownUser(id: id, details: $0) }
    }

    public func contains(_ id: UInt32) -> Bool { map.contains(id) }

    /// The fingerprint of the ids, as `usersDigest` computes it.
    public var fingerprint: UInt64 {
        var total: UInt64 = 0
        for (id, _) in map { total &+= Fingerprint.mix(UInt64(id)) }
        return total
    }

    /// Adds or replaces a user.
    mutating func set(_ id: UInt32, _ details: HostDetails) {
        map.set(id, details)
    }

    mutating func remove(_ id: UInt32) -> KnownUser? {
        map.removeValue(forKey: id).map { KnownUser(id: id, details: $0) }
    }

    public func makeIterator() -> IndexingIterator<[KnownUser]> { values.makeIterator() }
}

extension KnownUser {
    init(id: UInt32, details: HostDetails) {
        self.init(id: id, name: details.name.utf8String, info: details.info.utf8String)
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
    public private(set) var users = UserTable()
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
        receive(message, reporting: true)
    }

    /// Takes in a message without building the event that tells of it (simulations of thousands of
    /// clients, where nobody reads the events).
    public mutating func absorb(_ message: Message) {
        _ = receive(message, reporting: false)
    }

    private mutating func receive(_ message: Message, reporting: Bool) -> ClientEvent? {
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
            users.set(r.sourceID, r.details)
            return reporting ? .userJoined(KnownUser(id: r.sourceID, details: r.details)) : nil
        case .clientQuit(let q):
            guard let user = users.remove(q.sourceID) else { return nil }
            return .userLeft(id: q.sourceID, name: user.name, text: q.text.utf8String)
        case .clientChat(let c):
            let text = c.text.utf8String
            guard reporting else {
                chatLog.append(ChatEntry(from: c.sourceID, text: text))
                return nil
            }
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
    String(Fingerprint.sum(ids.lazy.map { UInt64($0) }), radix: 16)
}

/// The same fingerprint over (host id, first link) pairs: a server's routing table in one word.
public func hostsDigest<S: Sequence>(_ pairs: S) -> String where S.Element == (UInt32, UInt32) {
    String(Fingerprint.sum(pairs.lazy.map { Fingerprint.pair($0.0, $0.1) }), radix: 16)
}

/// Order-independent fingerprints of sets: the wrapping sum of a 64-bit mix (splitmix64's
/// finaliser) of each element. Being a sum, a set's fingerprint minus one element's mix is the
/// fingerprint of the set without it.
public enum Fingerprint {
    @inline(__always)
    public static func mix(_ v: UInt64) -> UInt64 {
        var z = v &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public static func pair(_ id: UInt32, _ link: UInt32) -> UInt64 { UInt64(id) << 32 | UInt64(link) }

    public static func sum<S: Sequence>(_ values: S) -> UInt64 where S.Element == UInt64 {
        var total: UInt64 = 0
        for v in values { total &+= mix(v) }
        return total
    }
}
