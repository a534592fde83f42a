import CRCProtocol
import NIOCore

/// The routing rules of one CRC server (docs/protocol.md) as a value-typed state machine.
///
/// (One file of ~570 lines on purpose: every rule reads and writes the same private tables —
/// hosts, peers, neighbour lists, the encoded client listing — and splitting them across files
/// would mean opening that state to the whole module.)
///
/// Inputs are "a link opened", "this message arrived on that link", "that link closed" and
/// "shut down"; outputs are `Action`s appended to the caller's array. There are no sockets,
/// clocks or threads here, so a whole network can be simulated in memory.
public struct ServerCore: Sendable {
    public let id: UInt32
    public let name: String
    public let info: String
    /// The name and info that every registration of this server carries: one object, which every
    /// table entry and forwarded copy elsewhere then shares.
    public let ownDetails: HostDetails

    /// Every other machine this server knows, by id.
    public private(set) var hosts = HostTable()
    /// Adjacent servers and clients, by id, with the link each is on.
    public private(set) var adjacentServers: [UInt32: LinkID] = [:] {
        didSet { routeCache = nil; neighbourLinks = nil }
    }
    public private(set) var adjacentClients: [UInt32: LinkID] = [:] {
        didSet { routeCache = nil; neighbourLinks = nil }
    }
    /// The links of the adjacent servers, and of the adjacent servers then clients: what a
    /// broadcast goes to, worked out again only when a neighbour comes or goes.
    private var neighbourLinks: (servers: [LinkID], all: [LinkID])?
    /// Who is on each open link.
    public private(set) var peers: [LinkID: Peer] = [:] {
        didSet { routeCache = nil }
    }
    /// Texts of statuses addressed to this server (destination = its id, or 0).
    public private(set) var statusLog: [String] = []
    /// The last chat flow routed. Any change to the routes clears it.
    private var routeCache: RouteCacheEntry?
    private struct RouteCacheEntry: Sendable {
        var link: LinkID
        var source: UInt32
        var destination: UInt32
        var out: LinkID
    }
    /// The link to the upstream server, while it is open.
    public private(set) var upstreamLink: LinkID?

    /// Where this server stands with its upstream. The shell carries out what each change asks
    /// (`.connectUpstream`, `.scheduleRejoin`, `.joinedUpstream`); the rules live here.
    public private(set) var upstreamPhase: UpstreamPhase = .root
    /// After a lost upstream link, keep rejoining (backing off from 100 ms to 1 s).
    public var rejoinsUpstream = true
    public static let firstRejoinMilliseconds = 100
    public static let maxRejoinMilliseconds = 1_000

    /// When false, per-message routing events (chats, forwarded registrations) are not logged;
    /// membership changes always are.
    public var logsRouting: Bool
    /// When false, nothing is logged at all (simulations of thousands of servers, where building
    /// the events would cost more than the routing).
    public var logsEvents = true
    /// Keep every client's registration encoded as this server forwards it, in id order, so that
    /// a newcomer's listing is one buffer of copied bytes: a registration storm of N clients then
    /// costs N encodings, not N² (real servers; `scripts/bench-storm.sh`). Simulations of
    /// thousands of servers turn it off: they would hold a buffer per client per server, and
    /// the listing is then built from the table.
    public var keepsEncodedListing = true
    /// With course-style neighbours (`--compat course`) no server quit (0x02) is ever sent: their
    /// parser does not know it and exits. Losses are still purged here.
    public var sendsServerQuit = true

    public init(id: UInt32, name: String, info: String, logsRouting: Bool = true) {
        self.id = id
        self.name = name
        self.info = info
        self.ownDetails = HostDetails(name: name, info: info)
        self.logsRouting = logsRouting
    }

    /// Keep the host table by `directory`'s numbers (a simulation's servers all share one).
    mutating func shareHostNumbers(_ directory: HostDirectory) {
        hosts.share(directory)
    }


    @inline(__always)
    private func log(_ event: @autoclosure () -> ServerEvent, into actions: inout [Action]) {
        if logsEvents { actions.append(.log(event())) }
    }

    // MARK: Inputs

    /// The shell is opening the first connection to the upstream (a failure there ends the
    /// server: there is nothing to rejoin yet).
    public mutating func joinUpstream() {
        upstreamPhase = .joining
    }

    /// A rejoin attempt could not connect: wait longer, then try again.
    public mutating func upstreamConnectFailed(into actions: inout [Action]) {
        guard case .rejoining(let ms) = upstreamPhase else { return }
        backOff(from: ms, into: &actions)
    }

    /// The wait before a rejoin attempt is over: connect.
    public mutating func rejoinTimerFired(into actions: inout [Action]) {
        guard case .waiting(let ms) = upstreamPhase else { return }
        upstreamPhase = .rejoining(retryMilliseconds: ms)
        actions.append(.connectUpstream)
    }

    private mutating func backOff(from ms: Int, into actions: inout [Action]) {
        let next = min(ms * 2, Self.maxRejoinMilliseconds)
        upstreamPhase = .waiting(retryMilliseconds: next)
        actions.append(.scheduleRejoin(afterMilliseconds: next))
    }

    /// A connection opened. For the upstream connection (`outbound`), the core sends its registration.
    public mutating func linkOpened(_ link: LinkID, outbound: Bool, into actions: inout [Action]) {
        log(.linkUp(link, outbound: outbound), into: &actions)
        if outbound {
            peers[link] = .upstreamPending
            upstreamLink = link
            let me = Registration(sourceID: id, lastHopID: 0, details: ownDetails)
            actions.append(.send(.serverRegistration(me), to: link))
        } else {
            peers[link] = .unregistered
        }
    }

    /// A message arrived on `link`.
    public mutating func receive(_ message: Message, on link: LinkID, into actions: inout [Action]) {
        if case .clientChat(let chat) = message, let hit = routeCache, hit.link == link,
           hit.source == chat.sourceID, hit.destination == chat.destinationID {
            // Same flow as the last chat, and no route or link changed since: forward at once.
            actions.append(.send(message, to: hit.out))
            if logsRouting { logChat(chat, into: &actions) }
            return
        }
        guard let peer = peers[link] else { return }
        switch message {
        case .clientChat(let chat):
            routeChat(chat, from: peer, on: link, into: &actions)
        case .serverRegistration(let r):
            registerServer(r, from: peer, on: link, into: &actions)
        case .clientRegistration(let r):
            registerClient(r, from: peer, on: link, into: &actions)
        case .status(let s):
            handleStatus(s, from: peer, on: link, into: &actions)
        case .clientQuit(let q):
            handleClientQuit(q, from: peer, on: link, into: &actions)
        case .serverQuit(let q):
            handleServerQuit(q, from: peer, on: link, into: &actions)
        }
    }

    /// A connection closed (by either side, or reset). Whatever was reached through it is forgotten
    /// and the rest of the network is told.
    public mutating func linkClosed(_ link: LinkID, into actions: inout [Action]) {
        switch upstreamPhase {
        case .joined(let up) where up == link:
            if rejoinsUpstream {
                upstreamPhase = .waiting(retryMilliseconds: Self.firstRejoinMilliseconds)
                log(.upstreamLost(retryMilliseconds: Self.firstRejoinMilliseconds), into: &actions)
                actions.append(.scheduleRejoin(afterMilliseconds: Self.firstRejoinMilliseconds))
            } else {
                upstreamPhase = .stopped
                log(.upstreamLost(retryMilliseconds: nil), into: &actions)
            }
        case .rejoining(let ms) where upstreamLink == link:
            // Connected, but closed before the upstream took us back (a relay with its link cut).
            backOff(from: ms, into: &actions)
        default:
            break
        }
        guard let peer = peers.removeValue(forKey: link) else { return }
        if upstreamLink == link { upstreamLink = nil }
        log(.linkDown(link, peer: peer), into: &actions)
        switch peer {
        case .server(let sid):
            loseNeighbourServer(sid, text: "lost connection to \(hosts[sid]?.name ?? String(sid))", into: &actions)
        case .client(let cid):
            if hosts.contains(cid) {
                let q = ClientQuit(sourceID: cid, text: "connection lost")
                log(.clientQuit(id: cid, text: "connection lost"), into: &actions)
                forget(cid)
                broadcast(.clientQuit(q), toServers: true, toClients: true, except: nil, into: &actions)
            }
        case .unregistered, .upstreamPending, .refused, .departed:
            break
        }
    }

    /// The server is leaving: announce it to every adjacent server, then close every link.
    public mutating func shutdown(text: String, into actions: inout [Action]) {
        let quit = ServerQuit(sourceID: id, replacementID: 0, text: text)
        upstreamPhase = .stopped
        log(.serverQuit(id: id, text: text), into: &actions)
        if sendsServerQuit {
            for link in adjacentServers.values.sorted() {
                actions.append(.send(.serverQuit(quit), to: link))
            }
        }
        for link in peers.keys.sorted() {
            actions.append(.close(link, reason: "server shutting down"))
            peers[link] = .departed
        }
    }

    // MARK: Queries

    /// The link that leads to `host`, if it is known and its first link is open.
    public func link(toward host: UInt32) -> LinkID? {
        guard let first = hosts.firstLink(of: host) else { return nil }
        return adjacentServers[first] ?? adjacentClients[first]
    }

    // MARK: Rules

    private mutating func registerServer(_ r: Registration, from peer: Peer, on link: LinkID, into actions: inout [Action]) {
        let handedBy: UInt32
        switch peer {
        case .unregistered, .upstreamPending:
            // The first message on a fresh link must be the neighbour's own registration.
            guard r.isFromAdjacent else {
                actions.append(.close(link, reason: "first registration on a new link is not from the adjacent machine"))
                return
            }
            handedBy = r.sourceID
        case .server(let sid):
            handedBy = sid
        case .client(let cid):
            log(.dropped(reason: "client \(cid) tried to announce server \(r.sourceID)", link: link), into: &actions)
            return
        case .refused, .departed:
            log(.dropped(reason: "server registration on a refused or departed link", link: link), into: &actions)
            return
        }

        if case .server(let sid) = peer, sid == r.sourceID, r.lastHopID == 0 {
            // A course-style neighbour (docs/protocol.md, "Course peers") took our own
            // registration for a newcomer's and answered with its own again. Expected, harmless:
            // it gets the duplicate-id status the protocol prescribes, and nobody gets a warning.
            log(.ownRegistrationEcho(id: sid, via: link), into: &actions)
            actions.append(.send(.status(Status(sourceID: id, destinationID: 0, code: .duplicateID,
                                                text: "A machine has already registered with ID \(sid)")), to: link))
            return
        }
        let record = HostRecord(id: r.sourceID, kind: .server, details: Self.own(r.details), firstLink: handedBy)
        if r.sourceID == id || r.sourceID == 0 || !hosts.insert(record) {
            refuseDuplicate(r.sourceID, kind: .server, on: link, newLink: peer == .unregistered || peer == .upstreamPending,
                            into: &actions)
            return
        }

        let adjacent = peer == .unregistered || peer == .upstreamPending
        log(.registered(record, adjacent: adjacent, via: link), into: &actions)
        if adjacent {
            peers[link] = .server(r.sourceID)
            adjacentServers[r.sourceID] = link
            if peer == .upstreamPending {
                switch upstreamPhase {
                case .joining: actions.append(.joinedUpstream(first: true))
                case .rejoining: actions.append(.joinedUpstream(first: false))
                default: break
                }
                upstreamPhase = .joined(link)
                // Our upstream accepted us (its own registration opens its burst). Our own
                // registration is not sent back; anything that attached to us before this moment
                // (clients that raced our own join, downstream servers, a subtree after a rejoin)
                // is news to it.
                sendKnownHosts(to: link, except: r.sourceID, into: &actions)
            } else if r.lastHopID == 0 {
                sendStateBurst(to: link, except: r.sourceID, into: &actions)
            }
        }
        var forwarded = r
        forwarded.lastHopID = id
        broadcast(.serverRegistration(forwarded), toServers: true, toClients: false, except: link, into: &actions)
    }

    private mutating func registerClient(_ r: Registration, from peer: Peer, on link: LinkID, into actions: inout [Action]) {
        let adjacent: Bool
        let handedBy: UInt32
        switch peer {
        case .unregistered:
            guard r.lastHopID == 0 else {
                actions.append(.close(link, reason: "client registration on a new link carries last hop \(r.lastHopID)"))
                return
            }
            adjacent = true
            handedBy = r.sourceID
        case .server(let sid):
            adjacent = false
            handedBy = sid
        case .client(let cid):
            log(.dropped(reason: "client \(cid) tried to announce client \(r.sourceID)", link: link), into: &actions)
            return
        case .upstreamPending:
            log(.dropped(reason: "client registration from upstream before it registered", link: link), into: &actions)
            return
        case .refused, .departed:
            log(.dropped(reason: "client registration on a refused or departed link", link: link), into: &actions)
            return
        }

        let record = HostRecord(id: r.sourceID, kind: .client, details: Self.own(r.details), firstLink: handedBy)
        if r.sourceID == id || r.sourceID == 0 || !hosts.insert(record) {
            refuseDuplicate(r.sourceID, kind: .client, on: link, newLink: adjacent, into: &actions)
            return
        }

        var forwarded = r
        forwarded.lastHopID = id
        forwarded.details = record.details
        let announcement = keepsEncodedListing ? Message.clientRegistration(registration(of: record)).encoded : nil
        if let announcement { insertClientID(r.sourceID, announcement: announcement) }
        log(.registered(record, adjacent: adjacent, via: link), into: &actions)
        if adjacent {
            peers[link] = .client(r.sourceID)
            adjacentClients[r.sourceID] = link
            let welcome = Status(sourceID: id, destinationID: r.sourceID, code: .welcome,
                                 text: "Welcome to the Clemson Relay Chat network \(record.name)")
            actions.append(.send(.status(welcome), to: link))
            if let announcement {
                // Every other client, in id order, from their encodings kept for this: one buffer.
                if clientIDs.count > 1 {
                    var listing = ByteBuffer()
                    listing.reserveCapacity(clientAnnouncementBytes - announcement.readableBytes)
                    for (i, other) in clientIDs.enumerated() where other != r.sourceID {
                        listing.writeImmutableBuffer(clientAnnouncements[i])
                    }
                    actions.append(.sendEncoded(listing, messages: clientIDs.count - 1, to: link))
                }
            } else {
                // Every other client, in table order.
                for other in hosts where other.kind == .client && other.id != r.sourceID {
                    actions.append(.send(.clientRegistration(registration(of: other)), to: link))
                }
            }
        }
        broadcast(.clientRegistration(forwarded), toServers: true, toClients: true, except: link, into: &actions)
    }

    private mutating func refuseDuplicate(_ dup: UInt32, kind: HostKind, on link: LinkID, newLink: Bool,
                                          into actions: inout [Action]) {
        let text = kind == .server
            ? "A machine has already registered with ID \(dup)"
            : "Someone has already registered with ID \(dup)"
        log(.duplicateRefused(id: dup, kind: kind, via: link), into: &actions)
        actions.append(.send(.status(Status(sourceID: id, destinationID: 0, code: .duplicateID, text: text)), to: link))
        if newLink {
            // The refused connection speaks for no one: once its answer is written, it goes, so
            // refused peers cannot hold connection slots.
            peers[link] = .refused(dup)
            actions.append(.close(link, reason: "refused: id \(dup) is already registered"))
        }
    }

    private func sendStateBurst(to link: LinkID, except newcomer: UInt32, into actions: inout [Action]) {
        // Our own registration, first-hand: last hop 0, the only way course-style servers (which
        // decide adjacency by last hop 0 alone) take us for their neighbour.
        actions.append(.send(.serverRegistration(Registration(sourceID: id, lastHopID: 0, details: ownDetails)), to: link))
        sendKnownHosts(to: link, except: newcomer, into: &actions)
    }

    /// A registration (last hop = this server) for every known host but `except`: servers first.
    private func sendKnownHosts(to link: LinkID, except newcomer: UInt32, into actions: inout [Action]) {
        // Table order; servers first, so that every client's first link is known when it arrives.
        for host in hosts where host.kind == .server && host.id != newcomer {
            actions.append(.send(.serverRegistration(registration(of: host)), to: link))
        }
        for host in hosts where host.kind == .client && host.id != newcomer {
            actions.append(.send(.clientRegistration(registration(of: host)), to: link))
        }
    }

    private func registration(of host: HostRecord) -> Registration {
        Registration(sourceID: host.id, lastHopID: id, details: host.details)
    }

    /// Name and info to keep in the table: shared with the registration when their bytes are
    /// theirs alone (a registration built or forwarded by a server), copied when they are slices
    /// of a larger read buffer, which the table must not keep alive.
    private static func own(_ details: HostDetails) -> HostDetails {
        if details.isCompact { return details }
        return HostDetails(name: ByteBuffer(bytes: details.name.readableBytesView),
                           info: ByteBuffer(bytes: details.info.readableBytesView))
    }

    /// Every known client's id, ascending: what a newcomer is told, in order, without sorting the
    /// whole host table on every join.
    private var clientIDs: [UInt32] = []
    /// For each entry of `clientIDs`, that client's registration as this server forwards it (last
    /// hop = this server), encoded once: a newcomer's listing is a copy of these bytes.
    private var clientAnnouncements: [ByteBuffer] = []
    private var clientAnnouncementBytes = 0

    private mutating func insertClientID(_ cid: UInt32, announcement: ByteBuffer) {
        var lo = 0, hi = clientIDs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if clientIDs[mid] < cid { lo = mid + 1 } else { hi = mid }
        }
        if lo == clientIDs.count || clientIDs[lo] != cid {
            clientIDs.insert(cid, at: lo)
            clientAnnouncements.insert(announcement, at: lo)
            clientAnnouncementBytes += announcement.readableBytes
        }
    }

    private mutating func removeClientID(_ cid: UInt32) {
        var lo = 0, hi = clientIDs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if clientIDs[mid] < cid { lo = mid + 1 } else { hi = mid }
        }
        if lo < clientIDs.count, clientIDs[lo] == cid {
            clientIDs.remove(at: lo)
            clientAnnouncementBytes -= clientAnnouncements.remove(at: lo).readableBytes
        }
    }

    private mutating func routeChat(_ chat: ClientChat, from peer: Peer, on link: LinkID, into actions: inout [Action]) {
        switch peer {
        case .client(let cid) where cid == chat.sourceID: break
        case .server where hosts.kind(of: chat.sourceID) == .client && self.link(toward: chat.sourceID) == link: break
        default:
            log(.dropped(reason: "chat from \(chat.sourceID) does not belong on this link (\(peer))", link: link), into: &actions)
            return
        }
        if let out = route(chat, on: link) {
            actions.append(.send(.clientChat(chat), to: out))
            if logsRouting { logChat(chat, into: &actions) }
        } else {
            log(.chatUnknownDestination(source: chat.sourceID, destination: chat.destinationID), into: &actions)
            let answer = Status(sourceID: id, destinationID: chat.sourceID, code: .unknownID,
                                text: "Unknown ID \(chat.destinationID)")
            actions.append(.send(.status(answer), to: self.link(toward: chat.sourceID) ?? link))
        }
    }

    /// The link toward a chat's destination; remembers the answer for the next chat of the same
    /// flow (same link, source and destination), which then costs no table lookups.
    private mutating func route(_ chat: ClientChat, on link: LinkID) -> LinkID? {
        guard hosts.kind(of: chat.destinationID) == .client, let out = self.link(toward: chat.destinationID) else { return nil }
        routeCache = RouteCacheEntry(link: link, source: chat.sourceID, destination: chat.destinationID, out: out)
        return out
    }

    private func logChat(_ chat: ClientChat, into actions: inout [Action]) {
        if let next = hosts.firstLink(of: chat.destinationID) {
            log(.chatRouted(source: chat.sourceID, destination: chat.destinationID, nextHop: next), into: &actions)
        }
    }

    private mutating func handleStatus(_ s: Status, from peer: Peer, on link: LinkID, into actions: inout [Action]) {
        if s.destinationID == id || s.destinationID == 0 {
            let text = s.text.utf8String
            statusLog.append(text)
            log(.statusReceived(source: s.sourceID, code: s.code, text: text), into: &actions)
            if s.code == .duplicateID, peer == .upstreamPending {
                log(.ownRegistrationRefused(text: text), into: &actions)
                actions.append(.fatal("upstream server \(s.sourceID) refused this server's registration: \(text)"))
            }
            return
        }
        if case .client = peer {
            log(.dropped(reason: "status from a client is not relayed", link: link), into: &actions)
            return
        }
        if let out = self.link(toward: s.destinationID), out != link {
            actions.append(.send(.status(s), to: out))
            if logsRouting {
                log(.statusRouted(source: s.sourceID, destination: s.destinationID,
                                                  nextHop: hosts.firstLink(of: s.destinationID)!), into: &actions)
            }
        } else {
            log(.statusDropped(source: s.sourceID, destination: s.destinationID), into: &actions)
        }
    }

    private mutating func handleClientQuit(_ q: ClientQuit, from peer: Peer, on link: LinkID, into actions: inout [Action]) {
        guard let record = hosts[q.sourceID], record.kind == .client else {
            log(.dropped(reason: "quit from unknown client \(q.sourceID)", link: link), into: &actions)
            return
        }
        switch peer {
        case .client(let cid) where cid == q.sourceID:
            peers[link] = .departed
        case .server(let sid) where record.firstLink == sid:
            break
        default:
            log(.dropped(reason: "quit for client \(q.sourceID) does not belong on this link (\(peer))", link: link), into: &actions)
            return
        }
        log(.clientQuit(id: q.sourceID, text: q.text.utf8String), into: &actions)
        forget(q.sourceID)
        broadcast(.clientQuit(q), toServers: true, toClients: true, except: link, into: &actions)
    }

    private mutating func handleServerQuit(_ q: ServerQuit, from peer: Peer, on link: LinkID, into actions: inout [Action]) {
        guard case .server(let neighbour) = peer else {
            log(.dropped(reason: "server quit from a non-server link", link: link), into: &actions)
            return
        }
        if q.sourceID == neighbour {
            // The neighbour itself is leaving: everything behind it goes with it.
            peers[link] = .departed
            if upstreamLink == link { upstreamLink = nil }
            loseNeighbourServer(neighbour, text: q.text.utf8String, into: &actions)
            return
        }
        guard let record = hosts[q.sourceID], record.kind == .server, record.firstLink == neighbour else {
            log(.dropped(reason: "quit for server \(q.sourceID), which is not reached through \(neighbour)", link: link), into: &actions)
            return
        }
        log(.serverQuit(id: q.sourceID, text: q.text.utf8String), into: &actions)
        forget(q.sourceID)
        broadcast(.serverQuit(q), toServers: true, toClients: false, except: link, into: &actions)
    }

    /// Neighbour `sid` is gone: forget it and every host reached through it, and announce each lost
    /// host (server quits to servers, client quits to servers and clients), so that every survivor
    /// forgets exactly what it can no longer reach.
    private mutating func loseNeighbourServer(_ sid: UInt32, text: String, into actions: inout [Action]) {
        let lost = hosts.filter { $0.firstLink == sid }.sorted { $0.id < $1.id }
        log(.hostsLost(server: sid, lost: lost.map(\.id)), into: &actions)
        adjacentServers[sid] = nil
        for host in lost { forget(host.id) }
        for host in lost where host.kind == .client {
            broadcast(.clientQuit(ClientQuit(sourceID: host.id, text: "unreachable: \(text)")),
                      toServers: true, toClients: true, except: nil, into: &actions)
        }
        for host in lost where host.kind == .server && sendsServerQuit {
            broadcast(.serverQuit(ServerQuit(sourceID: host.id, replacementID: 0, text: text)),
                      toServers: true, toClients: false, except: nil, into: &actions)
        }
    }

    private mutating func forget(_ host: UInt32) {
        if hosts.remove(host)?.kind == .client, keepsEncodedListing { removeClientID(host) }
        routeCache = nil
        adjacentClients[host] = nil
        adjacentServers[host] = nil
    }

    private mutating func broadcast(_ message: Message, toServers: Bool, toClients: Bool, except: LinkID?,
                                    into actions: inout [Action]) {
        if neighbourLinks == nil {
            let servers = Array(adjacentServers.values)
            neighbourLinks = (servers, servers + adjacentClients.values)
        }
        // Servers only, or everyone: the two lists kept. (Clients only is not a broadcast the
        // protocol makes.)
        let links = toClients ? (toServers ? neighbourLinks!.all : Array(adjacentClients.values)) : (toServers ? neighbourLinks!.servers : [])
        let count = links.count - (except.map { links.contains($0) ? 1 : 0 } ?? 0)
        switch count {
        case 0: return
        case 1: actions.append(.send(message, to: links.first { $0 != except }!))
        default: actions.append(.sendToEach(message, links: links, except: except))
        }
        if logsRouting && logsEvents {
            var targets: [UInt32] = []
            if toServers { for (sid, link) in adjacentServers where link != except { targets.append(sid) } }
            if toClients { for (cid, link) in adjacentClients where link != except { targets.append(cid) } }
            log(.forwarded(type: message.type, source: message.sourceID, to: targets.sorted()), into: &actions)
        }
    }
}
