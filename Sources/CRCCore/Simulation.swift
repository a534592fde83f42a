import CRCProtocol
import NIOCore

/// An in-memory CRC network: server cores and client states joined by simulated links that
/// deliver in order. Used by tests, and to run networks far larger than a machine could launch.
public struct Simulation: Sendable {
    public enum Node: Hashable, Sendable {
        case server(String)
        case client(String)
    }

    private struct Endpoint: Hashable, Sendable {
        var node: Node
        var link: LinkID
    }

    public private(set) var servers: [String: ServerCore] = [:]
    public private(set) var clients: [String: ClientState] = [:]
    /// Servers that stopped with a fatal error, and why.
    public private(set) var failed: [String: String] = [:]
    /// The last state of servers that stopped with a fatal error.
    public private(set) var stopped: [String: ServerCore] = [:]
    /// Every event each server logged, in order.
    public private(set) var serverLogs: [String: [ServerEvent]] = [:]
    /// Every event each client saw, in order.
    public private(set) var clientEvents: [String: [ClientEvent]] = [:]
    /// The first message each server received on each of its inbound links, in link order.
    public private(set) var firstInbound: [String: [Message]] = [:]
    /// How many messages were delivered in all.
    public private(set) var delivered = 0
    /// Deliveries by message type (indexed by the type byte).
    public private(set) var deliveredByType = [Int](repeating: 0, count: 256)
    /// Deliveries by the link id of the receiving end (see `linkEnds`).
    public private(set) var loadByLink: [Int] = []
    /// false: keep no per-node logs, events or first messages (networks of thousands of nodes,
    /// where those lists would be most of the memory).
    public var recordsEvents = true
    /// Every link ever opened: its two ends, by the id of each end.
    private var endsOfLink: [UInt64: (Node, Node)] = [:]

    /// The nodes at the two ends of a link, from the id of the end that receives (`loadByLink`'s index).
    public func linkEnds(_ id: Int) -> (from: Node, to: Node)? {
        endsOfLink[UInt64(id)].map { (from: $0.1, to: $0.0) }
    }

    private var nextLink: UInt64 = 1
    private var remote: [Endpoint: Endpoint] = [:]
    private var inbound: Set<Endpoint> = []
    private var seenFirst: Set<Endpoint> = []
    private var queue: [(Endpoint, Message)] = []
    private var queueHead = 0
    private var closing: [Endpoint] = []
    private var clientLink: [String: Endpoint] = [:]

    public init() {}

    // MARK: Building the network

    /// Starts a server; with an upstream (a server's name), it connects to it at once.
    /// Nodes are keyed by name, so two nodes may claim the same id, as in the duplicate-id scenarios.
    public mutating func startServer(name: String, id: UInt32, info: String, upstream: String? = nil, sendsServerQuit: Bool = true,
                                     rejoins: Bool = true) {
        servers[name] = ServerCore(id: id, name: name, info: info)
        servers[name]!.sendsServerQuit = sendsServerQuit
        servers[name]!.rejoinsUpstream = rejoins
        upstreamOf[name] = upstream
        if let up = upstream, servers[up] != nil {
            servers[name]!.joinUpstream()
            openUpstreamLink(name, to: up)
        }
    }

    private mutating func openUpstreamLink(_ name: String, to up: String) {
        let (mine, theirs) = connect(.server(name), .server(up))
        var actions: [Action] = []
        servers[up]!.linkOpened(theirs.link, outbound: false, into: &actions)
        apply(actions, at: theirs)
        actions.removeAll()
        servers[name]!.linkOpened(mine.link, outbound: true, into: &actions)
        apply(actions, at: mine)
    }

    // MARK: Time (rejoin timers)

    /// Simulated milliseconds: rejoin waits run only when time is advanced.
    public private(set) var now = 0
    private var timers: [(due: Int, server: String)] = []
    private var upstreamOf: [String: String] = [:]

    /// Advances simulated time, firing every rejoin timer that falls due (in order), and settles.
    public mutating func advance(milliseconds: Int) {
        let end = now + milliseconds
        while let next = timers.enumerated().filter({ $0.element.due <= end }).min(by: { $0.element.due < $1.element.due }) {
            timers.remove(at: next.offset)
            now = max(now, next.element.due)
            let sid = next.element.server
            guard servers[sid] != nil else { continue }
            var actions: [Action] = []
            servers[sid]!.rejoinTimerFired(into: &actions)
            apply(actions, at: Endpoint(node: .server(sid), link: LinkID(0)))
            settle()
        }
        now = end
        settle()
    }

    /// A rejoin attempt: it connects when the upstream runs, and fails otherwise.
    private mutating func connectUpstream(_ sid: String) {
        if let up = upstreamOf[sid], servers[up] != nil {
            openUpstreamLink(sid, to: up)
        } else {
            var actions: [Action] = []
            servers[sid]!.upstreamConnectFailed(into: &actions)
            apply(actions, at: Endpoint(node: .server(sid), link: LinkID(0)))
        }
    }

    /// Starts a client attached to the server named `server`; it registers at once.
    public mutating func startClient(name: String, id: UInt32, info: String, server: String) {
        guard servers[server] != nil else { return }
        let state = ClientState(id: id, name: name, info: info)
        let (mine, theirs) = connect(.client(name), .server(server))
        clients[name] = state
        clientLink[name] = mine
        var actions: [Action] = []
        servers[server]!.linkOpened(theirs.link, outbound: false, into: &actions)
        apply(actions, at: theirs)
        enqueue(state.registration, from: mine)
    }

    public mutating func chat(from client: String, to destination: UInt32, text: String) {
        guard let state = clients[client], let ep = clientLink[client] else { return }
        enqueue(state.chat(to: destination, text: text), from: ep)
    }

    /// The client sends its quit and closes its connection; its last state stays readable.
    public mutating func quit(client: String, text: String) {
        guard let state = clients[client], let ep = clientLink[client] else { return }
        enqueue(state.quit(text: text), from: ep)
        settle()
        close(ep)
        clientLink[client] = nil
    }

    /// Graceful stop: the server announces its departure, then its links close.
    public mutating func stopServer(_ id: String, text: String = "shutting down") {
        guard servers[id] != nil else { return }
        var actions: [Action] = []
        servers[id]!.shutdown(text: text, into: &actions)
        let anyEndpoint = remote.keys.first { $0.node == .server(id) } ?? Endpoint(node: .server(id), link: LinkID(0))
        apply(actions, at: anyEndpoint)
        settle()
        removeNode(.server(id))
    }

    /// Crash: the server's links close without any announcement.
    public mutating func killServer(_ id: String) {
        removeNode(.server(id))
    }

    /// Delivers everything in flight until the network is quiet.
    public mutating func settle(maxDeliveries: Int = .max) {
        var budget = maxDeliveries
        while budget > 0 {
            if queueHead < queue.count {
                let (to, message) = queue[queueHead]
                queueHead += 1
                if queueHead > 4096, queueHead * 2 > queue.count { queue.removeFirst(queueHead); queueHead = 0 }
                deliver(message, to: to)
                budget -= 1
            } else if !closing.isEmpty {
                let ep = closing.removeFirst()
                close(ep)
            } else {
                break
            }
        }
    }

    // MARK: Machinery

    private mutating func connect(_ a: Node, _ b: Node) -> (Endpoint, Endpoint) {
        let ea = Endpoint(node: a, link: LinkID(nextLink))
        let eb = Endpoint(node: b, link: LinkID(nextLink + 1))
        nextLink += 2
        remote[ea] = eb
        remote[eb] = ea
        inbound.insert(eb)
        endsOfLink[ea.link.rawValue] = (a, b)
        endsOfLink[eb.link.rawValue] = (b, a)
        return (ea, eb)
    }

    /// When set, every message a server sends is also appended here (for tests of what crosses links).
    public var sent: [Message]?

    private mutating func enqueue(_ message: Message, from ep: Endpoint) {
        guard let to = remote[ep] else { return }
        if sent != nil, case .server = ep.node { sent!.append(message) }
        queue.append((to, message))
    }

    private mutating func deliver(_ message: Message, to ep: Endpoint) {
        guard remote[ep] != nil else { return }
        delivered += 1
        deliveredByType[Int(message.type.rawValue)] += 1
        let slot = Int(ep.link.rawValue)
        if slot >= loadByLink.count { loadByLink += [Int](repeating: 0, count: max(1024, slot + 1 - loadByLink.count)) }
        loadByLink[slot] += 1
        switch ep.node {
        case .server(let sid):
            guard servers[sid] != nil else { return }
            if recordsEvents, inbound.contains(ep), !seenFirst.contains(ep) {
                seenFirst.insert(ep)
                firstInbound[sid, default: []].append(message)
            }
            var actions: [Action] = []
            servers[sid]!.receive(message, on: ep.link, into: &actions)
            apply(actions, at: ep)
        case .client(let cid):
            guard clients[cid] != nil else { return }
            if let event = clients[cid]!.receive(message), recordsEvents {
                clientEvents[cid, default: []].append(event)
            }
        }
    }

    private mutating func apply(_ actions: [Action], at ep: Endpoint) {
        guard case .server(let sid) = ep.node else { return }
        for action in actions {
            switch action {
            case .send(let message, let link):
                enqueue(message, from: Endpoint(node: ep.node, link: link))
            case .sendToEach(let message, let links):
                for link in links { enqueue(message, from: Endpoint(node: ep.node, link: link)) }
            case .sendEncoded(let bytes, _, let link):
                var buffer = bytes
                let parser = MessageParser()
                while let message = try? parser.parse(&buffer) { enqueue(message, from: Endpoint(node: ep.node, link: link)) }
            case .close(let link, _):
                closing.append(Endpoint(node: ep.node, link: link))
            case .log(let event):
                if recordsEvents { serverLogs[sid, default: []].append(event) }
            case .connectUpstream:
                connectUpstream(sid)
            case .scheduleRejoin(let ms):
                timers.append((due: now + ms, server: sid))
            case .joinedUpstream:
                break
            case .fatal(let reason):
                failed[sid] = reason
                removeNode(.server(sid), keepState: true)
                return
            }
        }
    }

    /// Closes one end of a link; the other end sees the link close.
    private mutating func close(_ ep: Endpoint) {
        guard let other = remote.removeValue(forKey: ep) else { return }
        remote[other] = nil
        notifyClosed(other)
        notifyClosed(ep)
    }

    private mutating func notifyClosed(_ ep: Endpoint) {
        guard case .server(let sid) = ep.node, servers[sid] != nil else { return }
        var actions: [Action] = []
        servers[sid]!.linkClosed(ep.link, into: &actions)
        apply(actions, at: ep)
    }

    /// Removes a node after everything in flight has been delivered (a crash at a quiet moment):
    /// each of its neighbours then sees its link close.
    private mutating func removeNode(_ node: Node, keepState: Bool = false) {
        settle()
        let ends = remote.keys.filter { $0.node == node }.sorted { $0.link < $1.link }
        if case .server(let sid) = node {
            if keepState { stopped[sid] = servers[sid] }
            servers[sid] = nil
        }
        for ep in ends {
            guard let other = remote.removeValue(forKey: ep) else { continue }
            remote[other] = nil
            notifyClosed(other)
        }
        settle()
    }
}
