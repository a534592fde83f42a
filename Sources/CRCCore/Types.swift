import CRCProtocol
import NIOCore

/// A connection as the core sees it: an opaque number the shell assigns.
public struct LinkID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: LinkID, b: LinkID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "link#\(rawValue)" }
}

public enum HostKind: String, Sendable, Codable {
    case server, client
}

/// What a server knows about another machine in the network.
///
/// Names and infos are kept as the bytes that arrived and relayed as they are (a name need not be
/// UTF-8); `name` and `info` decode them for display, repairing invalid sequences.
public struct HostRecord: Hashable, Sendable, Codable {
    public var id: UInt32
    public var kind: HostKind
    /// Name and info, shared with the registration they came from.
    public var details: HostDetails
    /// The adjacent machine through which this host is reached (the host itself when adjacent).
    public var firstLink: UInt32

    public var nameBytes: ByteBuffer { details.name }
    public var infoBytes: ByteBuffer { details.info }
    public var name: String { nameBytes.utf8String }
    public var info: String { infoBytes.utf8String }

    public init(id: UInt32, kind: HostKind, name: String, info: String, firstLink: UInt32) {
        self.init(id: id, kind: kind, details: HostDetails(name: name, info: info), firstLink: firstLink)
    }

    public init(id: UInt32, kind: HostKind, nameBytes: ByteBuffer, infoBytes: ByteBuffer, firstLink: UInt32) {
        self.init(id: id, kind: kind, details: HostDetails(name: nameBytes, info: infoBytes), firstLink: firstLink)
    }

    public init(id: UInt32, kind: HostKind, details: HostDetails, firstLink: UInt32) {
        self.id = id
        self.kind = kind
        self.details = details
        self.firstLink = firstLink
    }

    enum CodingKeys: String, CodingKey { case id, kind, name, info, firstLink }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(UInt32.self, forKey: .id), kind: try c.decode(HostKind.self, forKey: .kind),
                  name: try c.decode(String.self, forKey: .name), info: try c.decode(String.self, forKey: .info),
                  firstLink: try c.decode(UInt32.self, forKey: .firstLink))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(kind, forKey: .kind)
        try c.encode(name, forKey: .name)
        try c.encode(info, forKey: .info)
        try c.encode(firstLink, forKey: .firstLink)
    }
}

/// Every other machine a server knows, by id: its first link and a reference to its name and
/// info in one 16-byte slot, and its kind in a bit beside it (`IDMap`), since a network of N
/// machines holds N² of them.
public struct HostTable: Sendable, Sequence, Equatable {
    struct Entry: Sendable, Equatable {
        var details: HostDetails
        var firstLink: UInt32
    }

    /// The flag marks clients.
    private var map = IDMap<Entry>()

    /// The bytes of one entry's slot: 16.
    public static var bytesPerSlot: Int { IDMap<Entry>.bytesPerSlot }

    public init() {}

    public var count: Int { map.count }
    public var isEmpty: Bool { map.isEmpty }
    /// The ids, in table order.
    public var keys: [UInt32] { map.keys }
    /// Every host, in table order.
    public var values: [HostRecord] { Array(self) }

    /// Equal when they hold the same hosts, whatever the order.
    public static func == (a: HostTable, b: HostTable) -> Bool {
        a.count == b.count && a.allSatisfy { b[$0.id] == $0 }
    }

    public subscript(id: UInt32) -> HostRecord? {
        guard let e = map[id], let client = map.flag(of: id) else { return nil }
        return HostRecord(id: id, kind: client ? .client : .server, details: e.details, firstLink: e.firstLink)
    }

    public func contains(_ id: UInt32) -> Bool { map.contains(id) }
    public func firstLink(of id: UInt32) -> UInt32? { map[id]?.firstLink }
    public func kind(of id: UInt32) -> HostKind? { map.flag(of: id).map { $0 ? .client : .server } }

    /// The fingerprint of the table's (id, first link) pairs, as `hostsDigest` computes it.
    public var fingerprint: UInt64 {
        var total: UInt64 = 0
        for (id, e) in map { total &+= Fingerprint.mix(Fingerprint.pair(id, e.firstLink)) }
        return total
    }

    /// Each host's first link, by id.
    public var firstLinks: [UInt32: UInt32] {
        var out = [UInt32: UInt32](minimumCapacity: map.count)
        for (id, e) in map { out[id] = e.firstLink }
        return out
    }

    /// Adds a host not in the table yet (false if it is).
    @discardableResult
    mutating func insert(_ r: HostRecord) -> Bool {
        map.insert(r.id, Entry(details: r.details, firstLink: r.firstLink), flag: r.kind == .client)
    }

    @discardableResult
    mutating func remove(_ id: UInt32) -> HostRecord? {
        map.removeEntry(forKey: id).map {
            HostRecord(id: id, kind: $0.flag ? .client : .server, details: $0.value.details, firstLink: $0.value.firstLink)
        }
    }

    public struct Iterator: IteratorProtocol {
        var inner: IDMap<Entry>.FlaggedIterator
        public mutating func next() -> HostRecord? {
            inner.next().map { HostRecord(id: $0.key, kind: $0.flag ? .client : .server, details: $0.value.details, firstLink: $0.value.firstLink) }
        }
    }

    public func makeIterator() -> Iterator { Iterator(inner: map.makeFlaggedIterator()) }
}

/// Who is at the other end of a link.
public enum Peer: Hashable, Sendable {
    /// Accepted connection that has not registered yet.
    case unregistered
    /// Our connection to the upstream server; it has not yet answered our registration.
    case upstreamPending
    case server(UInt32)
    case client(UInt32)
    /// A registration on this link was refused as a duplicate; the link never speaks for anyone.
    case refused(UInt32)
    /// The peer left (its quit was processed); nothing on this link is trusted any more.
    case departed
}

/// Something the server did, for its structured log. The shell decides how (and whether) to write it.
public enum ServerEvent: Hashable, Sendable {
    case linkUp(LinkID, outbound: Bool)
    case linkDown(LinkID, peer: Peer)
    case registered(HostRecord, adjacent: Bool, via: LinkID)
    case duplicateRefused(id: UInt32, kind: HostKind, via: LinkID)
    /// A neighbour server sent its own registration again on its link (course-style servers do).
    case ownRegistrationEcho(id: UInt32, via: LinkID)
    case ownRegistrationRefused(text: String)
    case forwarded(type: MessageType, source: UInt32, to: [UInt32])
    case chatRouted(source: UInt32, destination: UInt32, nextHop: UInt32)
    case chatUnknownDestination(source: UInt32, destination: UInt32)
    case statusReceived(source: UInt32, code: StatusCode, text: String)
    case statusRouted(source: UInt32, destination: UInt32, nextHop: UInt32)
    case statusDropped(source: UInt32, destination: UInt32)
    case clientQuit(id: UInt32, text: String)
    case serverQuit(id: UInt32, text: String)
    case hostsLost(server: UInt32, lost: [UInt32])
    /// The upstream link was lost; a rejoin follows after this wait (nil: rejoining is off).
    case upstreamLost(retryMilliseconds: Int?)
    case dropped(reason: String, link: LinkID)
}

/// A server's standing with its upstream.
public enum UpstreamPhase: Hashable, Sendable {
    /// No upstream: a root.
    case root
    /// The first join: connecting, or registered and waiting for the upstream's answer.
    case joining
    /// Accepted by the upstream on this link.
    case joined(LinkID)
    /// The link was lost; a rejoin attempt is scheduled after this wait.
    case waiting(retryMilliseconds: Int)
    /// A rejoin attempt is connecting, or registered and waiting for the answer.
    case rejoining(retryMilliseconds: Int)
    /// Shutting down, or the link was lost with rejoining turned off.
    case stopped
}

/// What the core asks its shell to do.
public enum Action: Hashable, Sendable {
    case send(Message, to: LinkID)
    /// The same message to each of `links` but `except` (encoded once by the shell). The list is
    /// the core's own list of neighbours, shared rather than built for every message.
    case sendToEach(Message, links: [LinkID], except: LinkID?)
    /// Messages already encoded, back to back (`messages` of them), to one link.
    case sendEncoded(ByteBuffer, messages: Int, to: LinkID)
    case close(LinkID, reason: String)
    case log(ServerEvent)
    /// The server cannot go on (its own id was refused upstream): exit non-zero with this reason.
    case fatal(String)
    /// Open a new connection to the upstream (a rejoin attempt); report a failure with
    /// `upstreamConnectFailed`.
    case connectUpstream
    /// Call `rejoinTimerFired` after this long.
    case scheduleRejoin(afterMilliseconds: Int)
    /// The upstream accepted this server: the first time (the server is ready), or again after a loss.
    case joinedUpstream(first: Bool)
}
