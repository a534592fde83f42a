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
/// every client of a large simulated network can know every other for a few dozen bytes each; in
/// a simulation that shares a `HostDirectory`, a numbered user as numbered is one bit.
public struct UserTable: Sendable, Sequence {
    private var map = IDMap<HostDetails>()
    private var shared = DirectoryRef()
    private var directory: HostDirectory? { shared.directory }
    @inline(__always)
    private func withDirectory<T>(_ body: (HostDirectory) -> T?) -> T? { shared.with(body) }
    /// With a directory: one bit per numbered host, set when it is a known user.
    private var bits: [UInt64] = []
    private var marked = 0

    public init() {}

    /// Shares `directory`'s numbers (only while the table is empty).
    mutating func share(_ directory: HostDirectory) {
        precondition(isEmpty, "a table shares a directory from the start")
        shared = DirectoryRef(directory)
    }

    public var count: Int { map.count + marked }
    public var isEmpty: Bool { count == 0 }
    /// The ids, in table order.
    public var keys: [UInt32] { values.map(\.id) }
    /// Every user, in table order: those known by number first.
    public var values: [KnownUser] {
        var out: [KnownUser] = []
        out.reserveCapacity(count)
        forEachMarked { n, d in out.append(KnownUser(id: d.id(n), details: d.details(n))) }
        for (id, details) in map { out.append(KnownUser(id: id, details: details)) }
        return out
    }

    private func forEachMarked(_ body: (Int, HostDirectory) -> Void) {
        guard marked > 0, let d = directory else { return }
        for (w, word) in bits.enumerated() where word != 0 {
            var rest = word
            while rest != 0 {
                body(w &<< 6 | rest.trailingZeroBitCount, d)
                rest &= rest &- 1
            }
        }
    }

    @inline(__always)
    private func isMarked(_ n: Int) -> Bool {
        n >> 6 < bits.count && bits[n >> 6] & (1 &<< UInt64(n & 63)) != 0
    }

    /// The number of `id` when it is known by number.
    @inline(__always)
    private func markedNumber(_ id: UInt32) -> Int? {
        guard marked > 0, let n = withDirectory({ $0.number(of: id) }), isMarked(n) else { return nil }
        return n
    }

    public subscript(id: UInt32) -> KnownUser? {
        if let n = markedNumber(id) { return KnownUser(id: id, details: directory!.details(n)) }
        return map[id].map { KnownUser(id: id, details: $0) }
    }

    public func contains(_ id: UInt32) -> Bool { markedNumber(id) != nil || map.contains(id) }

    /// The fingerprint of the ids, as `usersDigest` computes it.
    public var fingerprint: UInt64 {
        var total: UInt64 = 0
        for (id, _) in map { total &+= Fingerprint.mix(UInt64(id)) }
        forEachMarked { n, d in total &+= Fingerprint.mix(UInt64(d.id(n))) }
        return total
    }

    /// Adds or replaces a user.
    mutating func set(_ id: UInt32, _ details: HostDetails) {
        if let n = withDirectory({ $0.number(of: id) }), withDirectory({ $0.matches(n, details, client: true) }) == true {
            if isMarked(n) { return }
            map.removeValue(forKey: id)
            if n >> 6 >= bits.count {
                let numbered = withDirectory { $0.count } ?? 0
                let words = Swift.max(n >> 6 + 1, Swift.min((numbered + 63) >> 6, Swift.max(4, bits.count * 2)))
                bits.append(contentsOf: repeatElement(0, count: words - bits.count))
            }
            bits[n >> 6] |= 1 &<< UInt64(n & 63)
            marked += 1
            return
        }
        if let n = markedNumber(id) { unmark(n) }
        map.set(id, details)
    }

    private mutating func unmark(_ n: Int) {
        bits[n >> 6] &= ~(1 &<< UInt64(n & 63))
        marked -= 1
    }

    mutating func remove(_ id: UInt32) -> KnownUser? {
        if let n = markedNumber(id) {
            unmark(n)
            return KnownUser(id: id, details: directory!.details(n))
        }
        return map.removeValue(forKey: id).map { KnownUser(id: id, details: $0) }
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

    /// The name and info its registration carries (one object, shared by every copy of it).
    public let ownDetails: HostDetails

    public init(id: UInt32, name: String, info: String) {
        self.id = id
        self.name = name
        self.info = info
        self.ownDetails = HostDetails(name: name, info: info)
    }

    /// Keep the user table by `directory`'s numbers (a simulation's clients all share one).
    mutating func shareHostNumbers(_ directory: HostDirectory) {
        users.share(directory)
    }

    /// The registration that opens the connection to the server.
    public var registration: Message {
        .clientRegistration(Registration(sourceID: id, lastHopID: 0, details: ownDetails))
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
