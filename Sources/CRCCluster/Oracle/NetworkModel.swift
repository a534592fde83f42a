import CRCProtocol

/// What the network must look like, computed from the topology alone: it knows the tree, so it
/// knows every routing table, every path and every log. Pure; the runner applies the same steps to
/// real processes and to this model, then compares.
public struct NetworkModel: Sendable {
    public enum Status: Sendable, Equatable {
        case notStarted, live, refused, stopped, killed, quit, disconnected
    }

    public struct ServerState: Sendable, Equatable {
        /// Every other host, with its first link.
        public var hosts: [UInt32: UInt32]
        public var adjacentServers: Set<UInt32>
        public var adjacentClients: Set<UInt32>
        public var statusLog: [String]
    }

    public struct ClientState: Sendable, Equatable {
        public var users: Set<UInt32>
        public var statusLog: [String]
        public var chatLog: [String]
    }

    /// Where a chat went: each server on the tree path and the next hop it must log.
    public enum ChatOutcome: Sendable, Equatable {
        case delivered(to: String, hops: [(server: String, nextHop: UInt32)])
        case unknownDestination(answeredBy: String)
        case senderNotLive

        public static func == (a: ChatOutcome, b: ChatOutcome) -> Bool {
            switch (a, b) {
            case (.delivered(let t1, let h1), .delivered(let t2, let h2)):
                return t1 == t2 && h1.map(\.server) == h2.map(\.server) && h1.map(\.nextHop) == h2.map(\.nextHop)
            case (.unknownDestination(let x), .unknownDestination(let y)): return x == y
            case (.senderNotLive, .senderNotLive): return true
            default: return false
            }
        }
    }

    public let topology: Topology
    public private(set) var status: [String: Status] = [:]
    /// Server → the upstream it is linked to, while both are up and the link is not cut.
    var uplink: [String: String] = [:]
    /// Servers whose link to their upstream is cut.
    public private(set) var cutLinks: Set<String> = []
    var clientLogs: [String: (status: [String], chats: [String])] = [:]
    let serverID: [String: UInt32]
    private let clientID: [String: UInt32]
    /// The servers whose upstream is each server, in file order.
    private let childrenOf: [String: [String]]
    /// The nodes of the file that claim each id (more than one only in duplicate-id scenarios).
    private let namesWithID: [UInt32: [String]]

    public init(topology: Topology) {
        self.topology = topology
        serverID = Dictionary(topology.servers.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a })
        clientID = Dictionary(topology.clients.map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a })
        var children: [String: [String]] = [:]
        for s in topology.servers { if let up = s.upstream { children[up, default: []].append(s.name) } }
        childrenOf = children
        var withID: [UInt32: [String]] = [:]
        for s in topology.servers { withID[s.id, default: []].append(s.name) }
        for c in topology.clients { withID[c.id, default: []].append(c.name) }
        namesWithID = withID
        for s in topology.servers { status[s.name] = .notStarted }
        for c in topology.clients { status[c.name] = .notStarted }
    }

    public func isLive(_ name: String) -> Bool { status[name] == .live }
    public var liveServers: [String] { topology.servers.map(\.name).filter(isLive) }
    public var liveClients: [String] { topology.clients.map(\.name).filter(isLive) }

    // MARK: Steps

    /// Starts a node, or starts again one that stopped. Returns its status: live, or refused when
    /// its id is already in the part of the network it joins.
    ///
    /// Servers rejoin a lost upstream on their own, so a server that comes back also takes back its
    /// live downstream servers whose links are not cut.
    @discardableResult
    public mutating func start(_ name: String) -> Status {
        if let s = topology.server(named: name) {
            if let up = s.upstream {
                guard isLive(up) else {
                    status[name] = .disconnected  // its upstream is not there: it cannot join
                    return .disconnected
                }
                guard !cutLinks.contains(name) else {
                    status[name] = .disconnected  // a server must join once before it can live alone
                    return .disconnected
                }
                if isLiveID(s.id, inComponentOf: up) {
                    status[name] = .refused
                    return .refused
                }
                uplink[name] = up
            }
            status[name] = .live
            for child in childrenOf[name] ?? [] where isLive(child) && !cutLinks.contains(child) {
                uplink[child] = name
            }
            return .live
        }
        guard let c = topology.client(named: name) else { return .notStarted }
        guard isLive(c.server) else {
            status[name] = .disconnected
            return .disconnected
        }
        if isLiveID(c.id, inComponentOf: c.server) {
            status[name] = .refused
            clientLogs[name] = (["Someone has already registered with ID \(c.id)"], [])
            return .refused
        }
        status[name] = .live
        clientLogs[name] = (["Welcome to the Clemson Relay Chat network \(c.name)"], [])
        return .live
    }

    /// A server stops (gracefully or killed): its links go, and its clients are disconnected.
    /// Returns the clients that lose their connection.
    @discardableResult
    public mutating func stop(_ name: String, killed: Bool = false) -> [String] {
        guard topology.server(named: name) != nil else {
            // A client stopped by signal leaves like a quit.
            if isLive(name) { status[name] = killed ? .killed : .quit }
            return []
        }
        guard isLive(name) else { return [] }
        status[name] = killed ? .killed : .stopped
        uplink[name] = nil
        for (child, up) in uplink where up == name { uplink[child] = nil }
        let orphans = topology.clients.filter { $0.server == name && isLive($0.name) }.map(\.name)
        for c in orphans { status[c] = .disconnected }
        return orphans
    }

    /// The link between `server` and its upstream is cut: the tree splits there.
    public mutating func cut(_ server: String) {
        cutLinks.insert(server)
        uplink[server] = nil
    }

    /// The link is whole again: the server rejoins its upstream if both are up.
    public mutating func heal(_ server: String) {
        cutLinks.remove(server)
        if let up = topology.server(named: server)?.upstream, isLive(server), isLive(up) {
            uplink[server] = up
        }
    }

    public mutating func quit(_ client: String) {
        if isLive(client) { status[client] = .quit }
    }

    /// A chat from a client to an id (or a client's name).
    public mutating func chat(from: String, to: String, text: String) -> ChatOutcome {
        guard let sender = topology.client(named: from), isLive(from) else { return .senderNotLive }
        let destinationID = UInt32(to) ?? clientID[to] ?? 0
        let component = servers(inComponentOf: sender.server)
        let target = topology.clients.first {
            $0.id == destinationID && isLive($0.name) && component.contains($0.server)
        }
        guard let target else {
            clientLogs[from]?.status.append("Unknown ID \(destinationID)")
            return .unknownDestination(answeredBy: sender.server)
        }
        clientLogs[target.name]?.chats.append(text)
        let path = serverPath(from: sender.server, to: target.server)
        var hops: [(String, UInt32)] = []
        for (i, s) in path.enumerated() {
            hops.append((s, i + 1 < path.count ? serverID[path[i + 1]]! : target.id))
        }
        return .delivered(to: target.name, hops: hops)
    }

    /// A chat the model routed to its destination met "Unknown ID" at its sender's server, which
    /// had not yet been told of the destination when the chat arrived (a raced chat, `ChatRaces`):
    /// the destination never gets it, and its sender gets the answer.
    public mutating func chatMissed(_ chat: ChatRecord) -> ChatOutcome? {
        guard case .delivered(let target, _) = chat.outcome, let sender = topology.client(named: chat.from) else { return nil }
        if let i = clientLogs[target]?.chats.lastIndex(of: chat.text) { clientLogs[target]!.chats.remove(at: i) }
        clientLogs[chat.from]?.status.append("Unknown ID \(chat.destinationID)")
        return .unknownDestination(answeredBy: sender.server)
    }

    // MARK: Expectations

    public func expectedServer(_ name: String) -> ServerState? {
        guard isLive(name) else { return nil }
        // One breadth-first walk from this server gives every other server's first hop.
        var firstHop: [String: String] = [name: name]
        var queue = [name]
        var head = 0
        let adjacency = self.adjacency()
        while head < queue.count {
            let s = queue[head]
            head += 1
            for n in adjacency[s] ?? [] where firstHop[n] == nil {
                firstHop[n] = s == name ? n : firstHop[s]!
                queue.append(n)
            }
        }
        var hosts: [UInt32: UInt32] = [:]
        for (s, hop) in firstHop where s != name {
            hosts[serverID[s]!] = serverID[hop]!
        }
        for c in topology.clients where isLive(c.name) {
            guard let hop = firstHop[c.server] else { continue }
            hosts[c.id] = c.server == name ? c.id : serverID[hop]!
        }
        let neighbours = Set(neighbours(of: name).map { serverID[$0]! })
        let clients = Set(topology.clients.filter { $0.server == name && isLive($0.name) }.map(\.id))
        return ServerState(hosts: hosts, adjacentServers: neighbours, adjacentClients: clients, statusLog: [])
    }

    public func expectedClient(_ name: String) -> ClientState? {
        guard let c = topology.client(named: name), status[name] == .live || status[name] == .refused else { return nil }
        let logs = clientLogs[name] ?? ([], [])
        if status[name] == .refused { return ClientState(users: [], statusLog: logs.status, chatLog: []) }
        let component = servers(inComponentOf: c.server)
        let users = Set(topology.clients.filter { $0.name != name && isLive($0.name) && component.contains($0.server) }.map(\.id))
        return ClientState(users: users, statusLog: logs.status, chatLog: logs.chats)
    }

    /// For each live server, the first message it must have received on each inbound server link:
    /// the registration of the server that joined it, with last hop 0.
    public func expectedFirstMessages(_ name: String) -> [String] {
        uplink.filter { $0.value == name }.keys.sorted().compactMap { child in
            guard let s = topology.server(named: child) else { return nil }
            return Message.serverRegistration(Registration(sourceID: s.id, lastHopID: 0, name: s.name, info: s.info ?? "")).hex
        }
    }

    // MARK: Tree

    /// Every live link, both ways.
    func adjacency() -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (child, up) in uplink {
            out[child, default: []].append(up)
            out[up, default: []].append(child)
        }
        return out
    }

    public func neighbours(of server: String) -> [String] {
        var out: [String] = []
        if let up = uplink[server] { out.append(up) }
        out += uplink.filter { $0.value == server }.keys.sorted()
        return out
    }

    public func servers(inComponentOf server: String) -> Set<String> {
        guard isLive(server) else { return [] }
        var seen: Set<String> = [server]
        var queue = [server]
        let adjacency = self.adjacency()
        while let s = queue.popLast() {
            for n in adjacency[s] ?? [] where !seen.contains(n) {
                seen.insert(n)
                queue.append(n)
            }
        }
        return seen
    }

    /// The root of a live server's part of the tree (its top, following upstream links).
    func root(of server: String) -> String {
        var s = server
        var hops = 0
        while let up = uplink[s], hops <= topology.servers.count {
            s = up
            hops += 1
        }
        return s
    }

    /// Whether a live node with this id is in the part of the tree that `server` is in: a walk up
    /// from each node claiming the id, not a walk over the whole part (starts stay cheap in
    /// networks of thousands).
    func isLiveID(_ id: UInt32, inComponentOf server: String) -> Bool {
        guard isLive(server) else { return false }
        let top = root(of: server)
        for name in namesWithID[id] ?? [] where isLive(name) {
            let home = topology.client(named: name)?.server ?? name
            if isLive(home), root(of: home) == top { return true }
        }
        return false
    }

    /// The servers from `a` to `b` along the tree, both included.
    public func serverPath(from a: String, to b: String) -> [String] {
        var parent: [String: String] = [:]
        var queue = [a]
        var seen: Set<String> = [a]
        while !queue.isEmpty {
            let s = queue.removeFirst()
            if s == b { break }
            for n in neighbours(of: s) where !seen.contains(n) {
                seen.insert(n)
                parent[n] = s
                queue.append(n)
            }
        }
        guard seen.contains(b) else { return [] }
        var path = [b]
        while let p = parent[path.last!] { path.append(p) }
        return path.reversed()
    }

    func firstHop(from a: String, to b: String) -> String {
        let path = serverPath(from: a, to: b)
        return path.count > 1 ? path[1] : b
    }
}

extension NetworkModel {
    /// Every link crossing a quit of `client` must make, now: up its own link, then away from it
    /// over every live server link of its part of the tree, and down to every other live client there.
    public func quitCrossings(of client: String) -> [WireChecker.Crossing] {
        guard let c = topology.client(named: client), isLive(client) else { return [] }
        let component = servers(inComponentOf: c.server)
        var out = [WireChecker.Crossing(client, .up)]
        var below: [String: Bool] = [:]   // is `client` below this server's link?
        func isBelow(_ s: String) -> Bool {
            if let b = below[s] { return b }
            var n: String? = c.server
            var hops = 0
            while let cur = n, hops <= topology.servers.count {
                if cur == s { below[s] = true; return true }
                n = topology.server(named: cur)?.upstream
                hops += 1
            }
            below[s] = false
            return false
        }
        for (child, up) in uplink.sorted(by: { $0.key < $1.key }) where component.contains(child) && component.contains(up) {
            out.append(WireChecker.Crossing(child, isBelow(child) ? .up : .down))
        }
        for other in topology.clients where other.name != client && isLive(other.name) && component.contains(other.server) {
            out.append(WireChecker.Crossing(other.name, .down))
        }
        return out
    }
}

extension NetworkModel {
    /// For every live link, the ids whose registrations must have crossed it each way by now: what
    /// the machine below learns from the server above (burst and forwards), and the other way.
    public func requiredRegistrations() -> [WireChecker.Crossing: Set<UInt32>] {
        var out: [WireChecker.Crossing: Set<UInt32>] = [:]
        for (child, up) in uplink {
            guard let below = expectedServer(child), let above = expectedServer(up),
                  let upID = serverID[up], let childID = serverID[child] else { continue }
            out[WireChecker.Crossing(child, .down)] = Set(below.hosts.filter { $0.value == upID }.keys)
            out[WireChecker.Crossing(child, .up)] = Set(above.hosts.filter { $0.value == childID }.keys)
        }
        for c in topology.clients where isLive(c.name) {
            if let want = expectedClient(c.name) { out[WireChecker.Crossing(c.name, .down)] = want.users }
        }
        return out
    }
}
