import CRCCore
import CRCProtocol
import NIOCore
/// A server's whole state as its monitoring endpoint serves it (`GET /state`, JSON).
/// Pure data, so the cluster tool and tests decode exactly what the server encodes.
public struct ServerSnapshot: Codable, Sendable, Equatable {
    /// A known host, as the server's table holds it.
    public typealias Host = HostRecord

    public struct Link: Codable, Sendable, Equatable {
        public var link: UInt64
        /// "server", "client", "unregistered", "upstream-pending", "refused" or "departed".
        public var peerKind: String
        public var peerID: UInt32?
        public var direction: String
        public var remoteAddress: String
        public var messagesIn: UInt64
        public var bytesIn: UInt64
        public var messagesOut: UInt64
        public var bytesOut: UInt64
        public var bytesPending: Int
        /// The first message received on this link, in hex (what the seed's byte-level tests record).
        public var firstMessageHex: String?

        enum CodingKeys: String, CodingKey {
            case link, peerKind, peerID = "peerId", direction, remoteAddress, messagesIn, bytesIn, messagesOut, bytesOut,
                 bytesPending, firstMessageHex
        }
        public init(link: UInt64, peerKind: String, peerID: UInt32?, direction: String, remoteAddress: String,
                    messagesIn: UInt64, bytesIn: UInt64, messagesOut: UInt64, bytesOut: UInt64, bytesPending: Int,
                    firstMessageHex: String?) {
            self.link = link; self.peerKind = peerKind; self.peerID = peerID; self.direction = direction
            self.remoteAddress = remoteAddress; self.messagesIn = messagesIn; self.bytesIn = bytesIn
            self.messagesOut = messagesOut; self.bytesOut = bytesOut; self.bytesPending = bytesPending
            self.firstMessageHex = firstMessageHex
        }
    }

    public var id: UInt32
    public var name: String
    public var info: String
    public var port: Int
    public var upstream: UInt32?
    public var hosts: [Host]
    public var adjacentServers: [UInt32]
    public var adjacentClients: [UInt32]
    public var statusLog: [String]
    public var links: [Link]

    public init(id: UInt32, name: String, info: String, port: Int, upstream: UInt32?, hosts: [Host],
                adjacentServers: [UInt32], adjacentClients: [UInt32], statusLog: [String], links: [Link]) {
        self.id = id; self.name = name; self.info = info; self.port = port; self.upstream = upstream
        self.hosts = hosts; self.adjacentServers = adjacentServers; self.adjacentClients = adjacentClients
        self.statusLog = statusLog; self.links = links
    }
}

extension Peer {
    public var kindName: String {
        switch self {
        case .unregistered: return "unregistered"
        case .upstreamPending: return "upstream-pending"
        case .server: return "server"
        case .client: return "client"
        case .refused: return "refused"
        case .departed: return "departed"
        }
    }

    public var peerID: UInt32? {
        switch self {
        case .server(let id), .client(let id), .refused(let id): return id
        default: return nil
        }
    }
}

extension ServerCore {
    /// The routing part of a snapshot; the shell adds port and link counters.
    public func snapshot(port: Int, links: [ServerSnapshot.Link]) -> ServerSnapshot {
        let upstreamID = upstreamLink.flatMap { peers[$0]?.peerID }
        return ServerSnapshot(
            id: id, name: name, info: info, port: port, upstream: upstreamID,
            hosts: hosts.sorted { $0.id < $1.id },
            adjacentServers: adjacentServers.keys.sorted(), adjacentClients: adjacentClients.keys.sorted(),
            statusLog: statusLog, links: links)
    }
}

/// A short form of a server's state (`GET /digest`): counts and fingerprints instead of lists, for
/// programs that poll many servers; they fetch `/state` only when a digest differs.
public struct ServerDigest: Codable, Sendable, Equatable {
    public var hosts: Int
    public var hostsDigest: String
    public var adjacentServers: [UInt32]
    public var adjacentClients: [UInt32]
    public var statusLog: [String]
    public var firstMessages: [String]

    public init(_ s: ServerSnapshot) {
        hosts = s.hosts.count
        hostsDigest = CRCCore.hostsDigest(s.hosts.map { ($0.id, $0.firstLink) })
        adjacentServers = s.adjacentServers
        adjacentClients = s.adjacentClients
        statusLog = s.statusLog
        firstMessages = s.links.filter { $0.direction == "inbound" && $0.peerKind == "server" }.compactMap(\.firstMessageHex).sorted()
    }
}
