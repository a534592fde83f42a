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
