import CRCProtocol
import NIOCore

/// An in-memory CRC network: server cores and client states joined by simulated links that
/// deliver in order. Used by tests, and to run networks far larger than a machine could launch.
///
/// (One file of ~610 lines on purpose: delivery one message at a time and delivery in rounds
/// read and write the same private node, link and queue tables, and splitting them across files
/// would mean opening those tables to the whole module.)
public struct Simulation: Sendable {
    public enum Node: Hashable, Sendable {
        case server(String)
        case client(String)
    }

    /// A node by its place in `serverCores` or `clientStates`.
    private enum Ref: Hashable, Sendable {
        case server(Int)
        case client(Int)
    }

    private var serverCores: [ServerCore?] = []
    private var serverNames: [String] = []
    private var serverIndex: [String: Int] = [:]
    private var clientStates: [ClientState?] = []
    private var clientNames: [String] = []
    private var clientIndex: [String: Int] = [:]
    /// Each client's end of its connection (0: none).
    private var clientLinks: [UInt32] = []

    /// The running servers, by name.
    public var servers: [String: ServerCore] {
        var out: [String: ServerCore] = [:]
        for (i, core) in serverCores.enumerated() { if let core { out[serverNames[i]] = core } }
        return out
    }

    /// Every client, by name (a client that quit keeps its last state).
    public var clients: [String: ClientState] {
        var out: [String: ClientState] = [:]
        for (i, state) in clientStates.enumerated() { if let state { out[clientNames[i]] = state } }
        return out
    }

    public func server(named name: String) -> ServerCore? { serverIndex[name].flatMap { serverCores[$0] } }
    public func client(named name: String) -> ClientState? { clientIndex[name].flatMap { clientStates[$0] } }

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
    /// How many rounds (see `parallelFor`) delivered them, when not one at a time.
    public private(set) var rounds = 0
    /// Deliveries by message type (indexed by the type byte).
    public private(set) var deliveredByType = [Int](repeating: 0, count: 256)
    /// Deliveries by the link id of the receiving end (see `linkEnds`).
    public private(set) var loadByLink: [Int] = [0]
    /// false: keep no per-node logs, events or first messages, and have the cores build no log
    /// events and keep no encoded client listings (networks of thousands of nodes, where those
    /// would be most of the time and memory).
    public var recordsEvents = true
    /// The hosts' numbers that every table shares when no events are recorded (see `HostDirectory`).
    private var directory = HostDirectory()

    // Links, indexed by link id. Links are made in pairs (odd id, the next even id), so the other
    // end of link l is l + 1 or l - 1.
    private var linkOwner: [Ref?] = [nil]
    private var linkOpen: [Bool] = [false]
    private var linkInbound: [Bool] = [false]
    private var linkSeenFirst: [Bool] = [false]

    @inline(__always)
    private static func otherEnd(_ l: Int) -> Int { l & 1 == 1 ? l + 1 : l - 1 }

    /// The nodes at the two ends of a link, from the id of the end that receives (`loadByLink`'s index).
    public func linkEnds(_ id: Int) -> (from: Node, to: Node)? {
        guard id > 0, id < linkOwner.count, let to = linkOwner[id], let from = linkOwner[Self.otherEnd(id)] else { return nil }
        return (from: node(from), to: node(to))
    }

    private func node(_ r: Ref) -> Node {
        switch r {
        case .server(let i): return .server(serverNames[i])
        case .client(let i): return .client(clientNames[i])
        }
    }

    private var queue = MessageQueue()
    private var closing: [Int] = []
    /// An action list kept between deliveries, so that a delivery allocates none.
    private var spareActions: [Action] = []

    public init() {}

    // MARK: Building the network

    /// Starts a server; with an upstream (a server's name), it connects to it at once.
    /// Nodes are keyed by name, so two nodes may claim the same id, as in the duplicate-id scenarios.
    public mutating func startServer(name: String, id: UInt32, info: String, upstream: String? = nil, sendsServerQuit: Bool = true,
                                     rejoins: Bool = true) {
        var core = ServerCore(id: id, name: name, info: info)
        core.sendsServerQuit = sendsServerQuit
        core.rejoinsUpstream = rejoins
        core.logsEvents = recordsEvents
        core.keepsEncodedListing = recordsEvents
        if !recordsEvents {
            directory.add(id: id, details: core.ownDetails, client: false)
            core.shareHostNumbers(directory)
        }
        let i: Int
        if let known = serverIndex[name] {
            i = known
            serverCores[i] = core
        } else {
            i = serverCores.count
            serverIndex[name] = i
            serverNames.append(name)
            serverCores.append(core)
        }
        upstreamOf[name] = upstream
        if let up = upstream, let u = serverIndex[up], serverCores[u] != nil {
            serverCores[i]!.joinUpstream()
            openUpstreamLink(i, to: u)
        }
    }

    private mutating func openUpstreamLink(_ i: Int, to u: Int) {
        let (mine, theirs) = connect(.server(i), .server(u))
        var actions: [Action] = []
        serverCores[u]!.linkOpened(LinkID(UInt64(theirs)), outbound: false, into: &actions)
        apply(actions, server: u)
        actions.removeAll()
        serverCores[i]!.linkOpened(LinkID(UInt64(mine)), outbound: true, into: &actions)
        apply(actions, server: i)
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
            guard let i = serverIndex[next.element.server], serverCores[i] != nil else { continue }
            var actions: [Action] = []
            serverCores[i]!.rejoinTimerFired(into: &actions)
            apply(actions, server: i)
            settle()
        }
        now = end
        settle()
    }

    /// A rejoin attempt: it connects when the upstream runs, and fails otherwise.
    private mutating func connectUpstream(_ i: Int) {
        if let up = upstreamOf[serverNames[i]], let u = serverIndex[up], serverCores[u] != nil {
            openUpstreamLink(i, to: u)
        } else {
            var actions: [Action] = []
            serverCores[i]!.upstreamConnectFailed(into: &actions)
            apply(actions, server: i)
        }
    }

    /// Starts a client attached to the server named `server`; it registers at once.
    public mutating func startClient(name: String, id: UInt32, info: String, server: String) {
        guard let s = serverIndex[server], serverCores[s] != nil else { return }
        var state = ClientState(id: id, name: name, info: info)
        if !recordsEvents {
            directory.add(id: id, details: state.ownDetails, client: true)
            state.shareHostNumbers(directory)
        }
        let c: Int
        if let known = clientIndex[name] {
            c = known
        } else {
            c = clientStates.count
            clientIndex[name] = c
            clientNames.append(name)
            clientStates.append(nil)
            clientLinks.append(0)
        }
        let (mine, theirs) = connect(.client(c), .server(s))
        clientStates[c] = state
        clientLinks[c] = UInt32(mine)
        var actions: [Action] = []
        serverCores[s]!.linkOpened(LinkID(UInt64(theirs)), outbound: false, into: &actions)
        apply(actions, server: s)
        enqueue(state.registration, from: mine)
    }

    public mutating func chat(from client: String, to destination: UInt32, text: String) {
        guard let c = clientIndex[client], let state = clientStates[c], clientLinks[c] != 0 else { return }
        enqueue(state.chat(to: destination, text: text), from: Int(clientLinks[c]))
    }

    /// The client sends its quit and closes its connection; its last state stays readable.
    public mutating func quit(client: String, text: String) {
        guard let c = clientIndex[client], let state = clientStates[c], clientLinks[c] != 0 else { return }
        let link = Int(clientLinks[c])
        enqueue(state.quit(text: text), from: link)
        settle()
        close(link)
        clientLinks[c] = 0
    }

    /// Graceful stop: the server announces its departure, then its links close.
    public mutating func stopServer(_ id: String, text: String = "shutting down") {
        guard let i = serverIndex[id], serverCores[i] != nil else { return }
        var actions: [Action] = []
        serverCores[i]!.shutdown(text: text, into: &actions)
        apply(actions, server: i)
        settle()
        removeNode(.server(i))
    }

    /// Crash: the server's links close without any announcement.
    public mutating func killServer(_ id: String) {
        guard let i = serverIndex[id] else { return }
        removeNode(.server(i))
    }

    /// Delivers everything in flight until the network is quiet.
    public mutating func settle(maxDeliveries: Int = .max) {
        var budget = maxDeliveries
        while budget > 0 {
            let pending = queue.count
            if pending > 0 {
                if !recordsEvents, sent == nil, pending >= Self.roundSize, budget >= pending {
                    deliverRound()
                    budget -= pending
                    continue
                }
                let (to, message) = queue.popFirst()!
                deliver(message, to: to)
                budget -= 1
            } else if !closing.isEmpty {
                let l = closing.removeFirst()
                close(l)
            } else {
                break
            }
        }
    }

    // MARK: Rounds (large networks)

    /// Runs pieces of work that share nothing, perhaps at once: `(n, body)` must call `body(0)`
    /// … `body(n - 1)`, in any order or concurrently, and return when all have. The core has no
    /// threads; a caller that has some (crc-cluster's `simulate`) passes them in here. nil: one
    /// after another.
    public var parallelFor: (@Sendable (Int, @Sendable (Int) -> Void) -> Void)?

    /// The buffers a round's pieces write to. @unchecked Sendable: each piece writes only the
    /// entries of its own nodes (and its own groups' outputs), and the round waits for all pieces.
    private struct RoundBuffers: @unchecked Sendable {
        var cores: UnsafeMutableBufferPointer<ServerCore?>
        var clients: UnsafeMutableBufferPointer<ClientState?>
        var others: UnsafeMutableBufferPointer<[Action]>
        var sends: UnsafeMutableBufferPointer<[MessageQueue.Item]>
    }

    /// Below this many messages in flight, messages are delivered one at a time.
    static let roundSize = 2_048

    /// Delivers every message in flight as one round: grouped by the node they reach (each node
    /// takes its own in the order they were sent, so every link stays first-in first-out), the
    /// nodes' cores run independently of each other — at once when `parallelFor` allows — and
    /// then what they sent is queued in node order, so the outcome does not depend on the threads.
    /// A node's messages in a row also find its tables in the cache. Only when no events are
    /// recorded: the order of events across nodes would differ from one-at-a-time delivery.
    private mutating func deliverRound() {
        rounds += 1
        var inputs = queue.takeAll()
        let servers = serverCores.count
        let nodes = servers + clientStates.count
        // A stable counting sort of the deliveries by receiving node, in buffers kept between
        // rounds (`nodeCounts` is all zeros between rounds). A delivery is known by its segment
        // and its index there.
        if nodeCounts.count < nodes { nodeCounts += [Int](repeating: 0, count: nodes - nodeCounts.count) }
        var keys = roundKeys
        roundKeys = []
        keys.removeAll(keepingCapacity: true)
        for segment in inputs {
            for item in segment {
                let l = item.to
                guard linkOpen[l], let owner = linkOwner[l] else {
                    keys.append(-1)
                    continue
                }
                delivered += 1
                deliveredByType[Int(item.message.type.rawValue)] += 1
                loadByLink[l] += 1
                let key: Int
                switch owner {
                case .server(let i): key = i
                case .client(let c): key = servers + c
                }
                keys.append(Int32(key))
                nodeCounts[key] += 1
            }
        }
        var groups: [(node: Int, start: Int, end: Int)] = []
        var next = 0
        for n in 0..<nodes where nodeCounts[n] > 0 {
            groups.append((n, next, next + nodeCounts[n]))
            nodeCounts[n] = next  // from here on: where the node's next message goes
            next = groups[groups.count - 1].end
        }
        var order = roundOrder
        roundOrder = []
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: repeatElement(Position(segment: 0, index: 0), count: next))
        var k = 0
        for (s, segment) in inputs.enumerated() {
            for i in segment.indices {
                let key = keys[k]
                k += 1
                guard key >= 0 else { continue }
                order[nodeCounts[Int(key)]] = Position(segment: Int32(s), index: Int32(i))
                nodeCounts[Int(key)] += 1
            }
        }
        for g in groups { nodeCounts[g.node] = 0 }
        roundKeys = keys

        // The nodes' cores, each on its own messages. Work is cut into pieces of about equal
        // message counts; a piece is a run of whole nodes. A piece queues what its nodes send in
        // a segment of its own (links open and close only between rounds, so it can tell which
        // sends go anywhere); anything else they ask for is done after, one node at a time.
        var others = [[Action]](repeating: [], count: groups.count)
        let pieces = parallelFor == nil ? 1 : min(groups.count, 16)
        var bounds = [0]
        for (g, group) in groups.enumerated() where bounds.count < pieces && group.end * pieces >= next * bounds.count {
            bounds.append(g + 1)
        }
        if bounds.last != groups.count { bounds.append(groups.count) }
        var sends = [[MessageQueue.Item]](repeating: [], count: bounds.count - 1)
        do {
            let (open, groupList, bounds, order, segments) = (linkOpen, groups, bounds, order, inputs)
            serverCores.withUnsafeMutableBufferPointer { coreBuffer in
                clientStates.withUnsafeMutableBufferPointer { clientBuffer in
                    others.withUnsafeMutableBufferPointer { otherBuffer in
                        sends.withUnsafeMutableBufferPointer { sendBuffer in
                            let buffers = RoundBuffers(cores: coreBuffer, clients: clientBuffer, others: otherBuffer, sends: sendBuffer)
                            let work: @Sendable (Int) -> Void = { piece in
                                let (cores, clients) = (buffers.cores, buffers.clients)
                                var out: [MessageQueue.Item] = []
                                var actions: [Action] = []
                                for g in bounds[piece]..<bounds[piece + 1] {
                                    let group = groupList[g]
                                    if group.node < servers {
                                        guard cores[group.node] != nil else { continue }
                                        actions.removeAll(keepingCapacity: true)
                                        for k in group.start..<group.end {
                                            let p = order[k]
                                            let d = segments[Int(p.segment)][Int(p.index)]
                                            cores[group.node]!.receive(d.message, on: LinkID(UInt64(d.to)), into: &actions)
                                        }
                                        var rest: [Action] = []
                                        for action in actions {
                                            // After anything but a send, the rest waits too, so that
                                            // it happens in the order it was asked for.
                                            guard rest.isEmpty else { rest.append(action); continue }
                                            switch action {
                                            case .send(let m, let link):
                                                let l = Int(link.rawValue)
                                                if open[l] { out.append((to: Self.otherEnd(l), message: m)) }
                                            case .sendToEach(let m, let links, let except):
                                                for link in links where link != except {
                                                    let l = Int(link.rawValue)
                                                    if open[l] { out.append((to: Self.otherEnd(l), message: m)) }
                                                }
                                            default:
                                                rest.append(action)
                                            }
                                        }
                                        if !rest.isEmpty { buffers.others[g] = rest }
                                    } else {
                                        let c = group.node - servers
                                        guard clients[c] != nil else { continue }
                                        for k in group.start..<group.end {
                                            let p = order[k]
                                            clients[c]!.absorb(segments[Int(p.segment)][Int(p.index)].message)
                                        }
                                    }
                                }
                                buffers.sends[piece] = out
                            }
                            if let parallelFor, bounds.count > 2 {
                                parallelFor(bounds.count - 1, work)
                            } else {
                                for piece in 0..<(bounds.count - 1) { work(piece) }
                            }
                        }
                    }
                }
            }
        }
        roundOrder = order
        // What they sent, in node order: the pieces' segments, then the rest.
        queue.append(segments: sends)
        sends = []
        for (g, group) in groups.enumerated() where !others[g].isEmpty {
            if serverCores[group.node] != nil { apply(others[g], server: group.node) }
        }
        // The round's messages are freed on every core too.
        discardInParallel(&inputs)
    }

    /// A delivery of a round: its segment and index in `takeAll`'s segments.
    private struct Position: Sendable {
        var segment: Int32
        var index: Int32
    }

    private func discardInParallel(_ segments: inout [ArraySlice<MessageQueue.Item>]) {
        guard let parallelFor, segments.count > 1 else { segments = []; return }
        segments.withUnsafeMutableBufferPointer { buffer in
            let box = SegmentBuffer(segments: buffer)
            parallelFor(buffer.count) { i in box.segments[i] = [] }
        }
        segments = []
    }

    /// @unchecked Sendable: each piece frees only its own segment.
    private struct SegmentBuffer: @unchecked Sendable {
        var segments: UnsafeMutableBufferPointer<ArraySlice<MessageQueue.Item>>
    }

    /// Frees every node's state, on every core that `parallelFor` offers (a network of 10,000
    /// servers holds hundreds of millions of table entries, and freeing them one thread at a time
    /// takes seconds). Its counts (`delivered`, `loadByLink` …) stay readable; its nodes are gone.
    public mutating func discard() {
        let pieces = parallelFor == nil ? 1 : 16
        serverCores.withUnsafeMutableBufferPointer { coreBuffer in
            clientStates.withUnsafeMutableBufferPointer { clientBuffer in
                let buffers = RoundBuffers(cores: coreBuffer, clients: clientBuffer, others: .init(start: nil, count: 0),
                                           sends: .init(start: nil, count: 0))
                let work: @Sendable (Int) -> Void = { piece in
                    let (cores, clients) = (buffers.cores, buffers.clients)
                    for i in stride(from: piece, to: cores.count, by: pieces) { cores[i] = nil }
                    for i in stride(from: piece, to: clients.count, by: pieces) { clients[i] = nil }
                }
                if let parallelFor { parallelFor(pieces, work) } else { work(0) }
            }
        }
        serverCores = []
        clientStates = []
        queue = MessageQueue()
    }

    private var nodeCounts: [Int] = []
    private var roundKeys: [Int32] = []
    private var roundOrder: [Position] = []

    // MARK: Machinery

    private mutating func connect(_ a: Ref, _ b: Ref) -> (Int, Int) {
        let ea = linkOwner.count
        precondition(ea & 1 == 1)
        linkOwner += [a, b]
        linkOpen += [true, true]
        linkInbound += [false, true]
        linkSeenFirst += [false, false]
        loadByLink += [0, 0]
        return (ea, ea + 1)
    }

    /// When set, every message a server sends is also appended here (for tests of what crosses links).
    public var sent: [Message]?

    @inline(__always)
    private mutating func enqueue(_ message: Message, from l: Int) {
        guard linkOpen[l] else { return }
        if !recordsEvents { Self.pin(message) }
        if sent != nil, case .server = linkOwner[l] { sent!.append(message) }
        queue.append((to: Self.otherEnd(l), message: message))
    }

    /// A registration a node makes of itself (last hop 0) carries the name and info that every
    /// table entry for that host, and every forwarded copy, will share. In a large network
    /// (`recordsEvents` off) that object is made immortal, so the hundreds of millions of entries and
    /// copies that refer to it no longer write to its reference count: with two cores retaining
    /// the same 20,000 objects 10,000 times each, `swift_retain` was 18 % of a run. The objects
    /// then live as long as the process (a few MiB for 20,000 hosts).
    private static func pin(_ message: Message) {
        switch message {
        case .serverRegistration(let r), .clientRegistration(let r):
            if r.lastHopID == 0 { immortalize(r.details) }
        default:
            break
        }
    }

    private mutating func deliver(_ message: Message, to l: Int) {
        guard linkOpen[l], let owner = linkOwner[l] else { return }
        delivered += 1
        deliveredByType[Int(message.type.rawValue)] += 1
        loadByLink[l] += 1
        switch owner {
        case .server(let i):
            guard serverCores[i] != nil else { return }
            if recordsEvents, linkInbound[l], !linkSeenFirst[l] {
                linkSeenFirst[l] = true
                firstInbound[serverNames[i], default: []].append(message)
            }
            var actions = spareActions
            spareActions = []
            serverCores[i]!.receive(message, on: LinkID(UInt64(l)), into: &actions)
            apply(actions, server: i)
            actions.removeAll(keepingCapacity: true)
            spareActions = actions
        case .client(let c):
            guard clientStates[c] != nil else { return }
            if recordsEvents {
                if let event = clientStates[c]!.receive(message) { clientEvents[clientNames[c], default: []].append(event) }
            } else {
                clientStates[c]!.absorb(message)
            }
        }
    }

    private mutating func apply(_ actions: [Action], server i: Int) {
        for action in actions {
            switch action {
            case .send(let message, let link):
                enqueue(message, from: Int(link.rawValue))
            case .sendToEach(let message, let links, let except):
                for link in links where link != except { enqueue(message, from: Int(link.rawValue)) }
            case .sendEncoded(let bytes, _, let link):
                var buffer = bytes
                let parser = MessageParser()
                while let message = try? parser.parse(&buffer) { enqueue(message, from: Int(link.rawValue)) }
            case .close(let link, _):
                closing.append(Int(link.rawValue))
            case .log(let event):
                if recordsEvents { serverLogs[serverNames[i], default: []].append(event) }
            case .connectUpstream:
                connectUpstream(i)
            case .scheduleRejoin(let ms):
                timers.append((due: now + ms, server: serverNames[i]))
            case .joinedUpstream:
                break
            case .fatal(let reason):
                failed[serverNames[i]] = reason
                removeNode(.server(i), keepState: true)
                return
            }
        }
    }

    /// Closes one end of a link; the other end sees the link close.
    private mutating func close(_ l: Int) {
        guard linkOpen[l] else { return }
        let other = Self.otherEnd(l)
        linkOpen[l] = false
        linkOpen[other] = false
        notifyClosed(other)
        notifyClosed(l)
    }

    private mutating func notifyClosed(_ l: Int) {
        guard case .server(let i) = linkOwner[l], serverCores[i] != nil else { return }
        var actions: [Action] = []
        serverCores[i]!.linkClosed(LinkID(UInt64(l)), into: &actions)
        apply(actions, server: i)
    }

    /// Removes a node after everything in flight has been delivered (a crash at a quiet moment):
    /// each of its neighbours then sees its link close.
    private mutating func removeNode(_ node: Ref, keepState: Bool = false) {
        settle()
        let ends = linkOwner.indices.filter { linkOwner[$0] == node && linkOpen[$0] }
        if case .server(let i) = node {
            if keepState { stopped[serverNames[i]] = serverCores[i] }
            serverCores[i] = nil
        }
        for l in ends {
            guard linkOpen[l] else { continue }
            let other = Self.otherEnd(l)
            linkOpen[l] = false
            linkOpen[other] = false
            notifyClosed(other)
        }
        settle()
    }
}

/// The Swift runtime's own way to make an object immortal (as its statically allocated objects
/// are): retains and releases of it read its header and write nothing.
@_silgen_name("_swift_stdlib_immortalize")
private func swiftStdlibImmortalize(_ object: UnsafeMutableRawPointer)

private func immortalize(_ object: AnyObject) {
    swiftStdlibImmortalize(Unmanaged.passUnretained(object).toOpaque())
}
