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
public struct HostRecord: Hashable, Sendable, Codable {
    public var id: UInt32
    public var kind: HostKind
    public var name: String
    public var info: String
    /// The adjacent machine through which this host is reached (the host itself when adjacent).
    public var firstLink: UInt32

    public init(id: UInt32, kind: HostKind, name: String, info: String, firstLink: UInt32) {
        self.id = id
        self.kind = kind
        self.name = name
        self.info = info
        self.firstLink = firstLink
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
    case dropped(reason: String, link: LinkID)
}

/// What the core asks its shell to do.
public enum Action: Hashable, Sendable {
    case send(Message, to: LinkID)
    case close(LinkID, reason: String)
    case log(ServerEvent)
    /// The server cannot go on (its own id was refused upstream): exit non-zero with this reason.
    case fatal(String)
}
