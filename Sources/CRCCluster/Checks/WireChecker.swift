import CRCProtocol

/// How strictly the wire is judged.
public enum WireProfile: String, Sendable, CaseIterable {
    /// The protocol as `docs/protocol.md` writes it, plus the course servers' habits it lists as harmless
    /// (see `WireChecker`): what a student's server written from the course's template does.
    case course
    /// The protocol as written: every echo is a difference.
    case strict
}

/// A client quit a scenario sent, and every link crossing the model says it must make.
public struct QuitRecord: Sendable {
    public var client: String
    public var sourceID: UInt32
    public var crossings: [WireChecker.Crossing]
    /// Where the wire stood when the quit was sent: earlier quits of the same id are servers
    /// telling their clients of hosts lost in a netsplit, not this quit.
    public var fromRecord: Int

    public init(client: String, sourceID: UInt32, crossings: [WireChecker.Crossing], fromRecord: Int = 0) {
        self.client = client
        self.sourceID = sourceID
        self.crossings = crossings
        self.fromRecord = fromRecord
    }
}

/// Black-box checks from what crossed the links (`WireRecord`s from crc-cluster's taps). Pure.
///
/// Two uses:
/// - **Observations** of a node that has no state interface (another implementation): a server's
///   hosts, first links, neighbours and status log are reconstructed from what arrived on its links,
///   by the protocol's rules (a registration is recorded the first time its id arrives, with the
///   link it came on as first link; a quit forgets a client; a closed link forgets its neighbour);
///   a client's users and logs from what its server sent it. These go through the same
///   `ConvergenceChecker` as `/state` does.
/// - **Behaviour**: each registration crosses each link at most once, in the direction away from
///   the machine it describes, with the right last hop; each chat crosses exactly the links of its
///   tree path, in order, and no other; an unknown destination is answered back to the sender;
///   each quit reaches every link of its part of the tree once and is not echoed.
///
/// The course profile tolerates the course servers' habits: (1) a server that joins re-sends its
/// own registration (last hop 0) up its link once more, after its upstream's own registration
/// arrives; (2) a forwarded server registration is sent back over the link it came from (the
/// course's forwarding skips the registration's source, not the link); and the duplicate-id
/// statuses that answer either are not counted in the status log of the server they reach.
public enum WireChecker {
    public struct Crossing: Hashable, Sendable, Comparable {
        public var link: String
        public var direction: WireDirection
        public init(_ link: String, _ direction: WireDirection) {
            self.link = link
            self.direction = direction
        }
        public static func < (a: Crossing, b: Crossing) -> Bool {
            (a.link, a.direction.rawValue) < (b.link, b.direction.rawValue)
        }
    }

    /// The tree, as the wire sees it: which node is above each link, ids, and what lies below.
    public struct Links: Sendable {
        public let topology: Topology
        /// link (the node below) → the server above it
        public let upper: [String: String]
        let id: [String: UInt32]
        let nameOf: [UInt32: String]
        /// every id in the subtree hanging from each link (the node below and everything under it)
        let below: [String: Set<UInt32>]

        public init(topology: Topology) {
            self.topology = topology
            var upper: [String: String] = [:]
            var id: [String: UInt32] = [:]
            var nameOf: [UInt32: String] = [:]
            var children: [String: [String]] = [:]
            for s in topology.servers {
                id[s.name] = s.id
                if s.refused != true { nameOf[s.id] = nameOf[s.id] ?? s.name }
                if let u = s.upstream {
                    upper[s.name] = u
                    if s.refused != true { children[u, default: []].append(s.name) }
                }
            }
            for c in topology.clients {
                id[c.name] = c.id
                if c.refused != true { nameOf[c.id] = nameOf[c.id] ?? c.name }
                upper[c.name] = c.server
                if c.refused != true { children[c.server, default: []].append(c.name) }
            }
            var below: [String: Set<UInt32>] = [:]
            func collect(_ n: String, _ seen: inout Set<String>) -> Set<UInt32> {
                if let b = below[n] { return b }
                guard seen.insert(n).inserted else { return [] }
                var out: Set<UInt32> = [id[n]!]
                for c in children[n] ?? [] { out.formUnion(collect(c, &seen)) }
                below[n] = out
                return out
            }
            var seen = Set<String>()
            for n in id.keys { _ = collect(n, &seen) }
            // A node refused for its duplicate id holds only itself: the id belongs elsewhere.
            for s in topology.servers where s.refused == true { below[s.name] = [s.id] }
            for c in topology.clients where c.refused == true { below[c.name] = [c.id] }
            self.upper = upper
            self.id = id
            self.nameOf = nameOf
            self.below = below
        }

        /// Who sends and who receives on a crossing.
        public func ends(_ c: Crossing) -> (from: String, to: String) {
            let up = upper[c.link] ?? "?"
            return c.direction == .up ? (c.link, up) : (up, c.link)
        }

        public func describe(_ c: Crossing) -> String {
            let e = ends(c)
            return "\(e.from) → \(e.to)"
        }

        func name(_ id: UInt32) -> String { nameOf[id].map { "\($0) (\(id))" } ?? "\(id)" }

        /// The crossing from server (or client) `a` to its neighbour `b`.
        func crossing(from a: String, to b: String) -> Crossing {
            upper[a] == b ? Crossing(a, .up) : Crossing(b, .down)
        }

        /// The links of a server: its own (to its upstream) and those of everything attached below it.
        func links(of server: String) -> (uplink: String?, downlinks: [String]) {
            let downs = upper.filter { $0.value == server }.map(\.key).sorted()
            return (topology.server(named: server)?.upstream == nil ? nil : server, downs)
        }
    }

    // MARK: Behaviour

    /// Every difference between what crossed the links and what the protocol and the scenario's
    /// chats and quits say must cross.
    /// `tapped`: the links the records cover (nil: every link); crossings of other links are
    /// neither expected nor seen.
    public static func check(links: Links, records: [WireRecord], chats: [ChatRecord], quits: [QuitRecord],
                             required: [Crossing: Set<UInt32>] = [:], tapped: Set<String>? = nil,
                             profile: WireProfile = .course) -> [Difference] {
        var quits = quits
        if let tapped { for i in quits.indices { quits[i].crossings = quits[i].crossings.filter { tapped.contains($0.link) } } }
        return registrations(links: links, records: records, profile: profile)
            + completeness(links: links, records: records, required: required)
            + chatPaths(links: links, records: records, chats: chats, tapped: tapped)
            + quitPaths(links: links, records: records, quits: quits)
    }

    /// Registrations that a course server sends again in the ways the course profile tolerates,
    /// by record index → the ids concerned.
    public static func tolerated(links: Links, records: [WireRecord]) -> [Int: Set<UInt32>] {
        var out: [Int: Set<UInt32>] = [:]
        var seen: [String: Int] = [:]           // "link#conn#dir#id" → times
        var arrived: Set<String> = []           // "link#conn#id" that crossed one way
        for (i, r) in records.enumerated() {
            guard let m = r.message, case .serverRegistration(let reg) = m else { continue }
            let k = "\(r.link)#\(r.connection)#\(r.direction.rawValue)#\(reg.sourceID)"
            seen[k, default: 0] += 1
            let sender = links.ends(Crossing(r.link, r.direction)).from
            let own = links.id[sender] == reg.sourceID
            // (1) its own registration once more, up its own link
            if own, reg.lastHopID == 0, r.direction == .up, r.link == sender, seen[k] == 2 { out[i] = [reg.sourceID] }
            // (2) a registration sent back over the link it came from
            let pair = "\(r.link)#\(r.connection)#\(reg.sourceID)"
            if !own, arrived.contains(pair), seen[k] == 1, !inSubtree(links, reg.sourceID, sendingSide: Crossing(r.link, r.direction)) {
                out[i] = [reg.sourceID]
            }
            arrived.insert(pair)
        }
        return out
    }

    static func inSubtree(_ links: Links, _ id: UInt32, sendingSide c: Crossing) -> Bool {
        let below = links.below[c.link] ?? []
        return c.direction == .up ? below.contains(id) : !below.contains(id)
    }

    static func registrations(links: Links, records: [WireRecord], profile: WireProfile) -> [Difference] {
        var diffs: [Difference] = []
        var count: [String: Int] = [:]
        let tolerated = profile == .course ? tolerated(links: links, records: records) : [:]
        // A quit on a link makes its far side forget hosts, which may then be announced again
        // (a server that rejoins): a registration repeats only if no quit crossed that link since.
        var lastQuit: [String: Int] = [:]   // "link#conn" → index of the last quit seen on it
        var lastSeen: [String: Int] = [:]
        for (i, r) in records.enumerated() {
            guard let m = r.message else { continue }
            let reg: Registration
            let isServer: Bool
            switch m {
            case .serverRegistration(let x): reg = x; isServer = true
            case .clientRegistration(let x): reg = x; isServer = false
            case .serverQuit, .clientQuit: lastQuit["\(r.link)#\(r.connection)"] = i; continue
            default: continue
            }
            if tolerated[i] != nil { continue }
            let linkKey = "\(r.link)#\(r.connection)"
            let repeatKey = "\(linkKey)#\(r.direction.rawValue)#\(reg.sourceID)"
            if let seen = lastSeen[repeatKey], let q = lastQuit[linkKey], q > seen { count[repeatKey] = 0 }
            lastSeen[repeatKey] = i
            let c = Crossing(r.link, r.direction)
            let (from, to) = links.ends(c)
            let what = "\(isServer ? "server" : "client") registration of \(links.name(reg.sourceID))"
            let k = "\(r.link)#\(r.connection)#\(r.direction.rawValue)#\(reg.sourceID)"
            count[k, default: 0] += 1
            if count[k] == 2 {
                diffs.append(Difference(node: from, field: .registration,
                                        detail: "sent the \(what) to \(to) more than once on the same link"))
            }
            guard count[k] == 1 else { continue }
            let fromID = links.id[from] ?? 0
            if reg.sourceID == fromID {
                if reg.lastHopID != 0 {
                    diffs.append(Difference(node: from, field: .lastHop,
                                            detail: "sent its own registration to \(to) with last hop \(reg.lastHopID), expected 0 (peers from the course take only last hop 0 as adjacent)"))
                }
            } else if reg.lastHopID != fromID {
                diffs.append(Difference(node: from, field: .lastHop,
                                        detail: "forwarded the \(what) to \(to) with last hop \(reg.lastHopID), expected its own id \(fromID)"))
            }
            if !inSubtree(links, reg.sourceID, sendingSide: c) {
                // A registration about a machine on the receiver's side goes back where it came from.
                diffs.append(Difference(node: from, field: .registration,
                                        detail: "sent the \(what) to \(to), which is on its side of the tree: registrations travel away from the machine they describe"))
            }
            if isServer, links.topology.client(named: to) != nil {
                diffs.append(Difference(node: from, field: .registration,
                                        detail: "told client \(to) of a server (\(links.name(reg.sourceID))): clients are told of clients only"))
            }
        }
        return diffs
    }

    /// Every registration that must have crossed each live link (on its newest connection) did.
    static func completeness(links: Links, records: [WireRecord], required: [Crossing: Set<UInt32>]) -> [Difference] {
        var newest: [String: Int] = [:]
        for r in records { newest[r.link] = max(newest[r.link] ?? 0, r.connection) }
        var crossed: [Crossing: Set<UInt32>] = [:]
        for r in records where r.connection == newest[r.link] {
            guard let m = r.message else { continue }
            switch m {
            case .serverRegistration(let reg), .clientRegistration(let reg): crossed[Crossing(r.link, r.direction), default: []].insert(reg.sourceID)
            default: break
            }
        }
        var diffs: [Difference] = []
        for (c, want) in required.sorted(by: { $0.key < $1.key }) {
            let missing = want.subtracting(crossed[c] ?? [])
            guard !missing.isEmpty else { continue }
            let (from, to) = links.ends(c)
            diffs.append(Difference(node: from, field: .registration,
                                    detail: "never told \(to) of \(missing.sorted().map { links.name($0) }.joined(separator: ", ")), which \(to) can learn only from \(from) (its state burst or a forward)"))
        }
        return diffs
    }

    /// The crossings a chat must make along its tree path, in order.
    public static func expectedCrossings(_ chat: ChatRecord, links: Links) -> [Crossing] {
        switch chat.outcome {
        case .delivered(let target, let hops):
            var out = [Crossing(chat.from, .up)]
            for (a, b) in zip(hops, hops.dropFirst()) { out.append(links.crossing(from: a.server, to: b.server)) }
            out.append(Crossing(target, .down))
            return out
        case .unknownDestination:
            return [Crossing(chat.from, .up)]
        case .senderNotLive:
            return []
        }
    }

    static func chatPaths(links: Links, records: [WireRecord], chats: [ChatRecord], tapped: Set<String>? = nil) -> [Difference] {
        struct Key: Hashable { var src: UInt32; var dst: UInt32; var text: String }
        var seen: [Key: [(Crossing, Double)]] = [:]
        var unknownAnswers: [String: Int] = [:]   // "link|src|dst" → unknown-id statuses down that link
        for r in records {
            guard let m = r.message else { continue }
            if case .clientChat(let c) = m {
                seen[Key(src: c.sourceID, dst: c.destinationID, text: c.text.utf8String), default: []].append((Crossing(r.link, r.direction), r.time))
            } else if case .status(let s) = m, s.code == .unknownID, r.direction == .down {
                let text = s.text.utf8String
                if let n = text.split(separator: " ").last.flatMap({ UInt32($0) }) {
                    unknownAnswers["\(r.link)|\(s.destinationID)|\(n)", default: 0] += 1
                }
            }
        }
        var diffs: [Difference] = []
        var groups: [Key: [ChatRecord]] = [:]
        var order: [Key] = []
        for c in chats where c.outcome != .senderNotLive {
            let k = Key(src: c.sourceID, dst: c.destinationID, text: c.text)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(c)
        }
        for k in order {
            let group = groups[k]!
            let chat = group[0]
            let n = group.count
            let want = expectedCrossings(chat, links: links).filter { tapped?.contains($0.link) ?? true }
            let got = seen[k] ?? []
            var gotCount: [Crossing: Int] = [:]
            for (c, _) in got { gotCount[c, default: 0] += 1 }
            let label = "chat \(chat.from) → \(chat.to) \"\(chat.text)\""
            let path = chat.expectedPath
            // Walk the path: the first hop that is missing or repeated is the one named.
            for c in want where gotCount[c, default: 0] != n {
                let (from, to) = links.ends(c)
                let times = gotCount[c, default: 0]
                diffs.append(Difference(node: from, field: .chatPath,
                                        detail: times == 0 ? "\(label) never crossed \(from) → \(to) (expected path \(path))"
                                                           : "\(label) crossed \(from) → \(to) \(times) times, expected \(n)"))
                break
            }
            for c in Set(gotCount.keys).subtracting(want).sorted() {
                diffs.append(Difference(node: links.ends(c).from, field: .chatPath,
                                        detail: "\(label) crossed \(links.describe(c)), which is not on its path \(path)"))
            }
            if n == 1, want.allSatisfy({ gotCount[$0] == 1 }) {
                let times = want.map { c in got.first { $0.0 == c }!.1 }
                if let bad = times.indices.dropLast().first(where: { times[$0] > times[$0 + 1] }) {
                    diffs.append(Difference(node: links.ends(want[bad + 1]).from, field: .chatPath,
                                            detail: "\(label) crossed \(links.describe(want[bad + 1])) before \(links.describe(want[bad]))"))
                }
            }
        }
        // "Unknown ID" answers carry no chat text: they are counted per sender and destination,
        // over all the chats to it that should have met one.
        struct Pair: Hashable { var from: String; var src: UInt32; var dst: UInt32 }
        var expected: [Pair: (n: Int, server: String?)] = [:]
        var pairs: [Pair] = []
        for c in chats where c.outcome != .senderNotLive {
            let pair = Pair(from: c.from, src: c.sourceID, dst: c.destinationID)
            if expected[pair] == nil { pairs.append(pair); expected[pair] = (0, nil) }
            if case .unknownDestination(let server) = c.outcome { expected[pair]!.n += 1; expected[pair]!.server = server }
        }
        for pair in pairs {
            let want = expected[pair]!
            let answers = unknownAnswers["\(pair.from)|\(pair.src)|\(pair.dst)", default: 0] + unknownAnswers["\(pair.from)|0|\(pair.dst)", default: 0]
            guard want.n > 0, answers != want.n, let server = want.server else { continue }
            let chats = chats.filter { $0.from == pair.from && $0.destinationID == pair.dst }
            let label = chats.count == 1 ? "chat \(pair.from) → \(chats[0].to) \"\(chats[0].text)\"" : "\(chats.count) chats \(pair.from) → \(chats[0].to)"
            diffs.append(Difference(node: server, field: .unknownDestination,
                                    detail: "\(label): \(answers) \"Unknown ID \(pair.dst)\" statuses reached \(pair.from), expected \(want.n) from \(server)"))
        }
        return diffs
    }

    static func quitPaths(links: Links, records: [WireRecord], quits: [QuitRecord]) -> [Difference] {
        var diffs: [Difference] = []
        for q in quits {
            var got: [Crossing: Int] = [:]
            for r in records.dropFirst(q.fromRecord) {
                if let m = r.message, case .clientQuit(let x) = m, x.sourceID == q.sourceID { got[Crossing(r.link, r.direction), default: 0] += 1 }
            }
            let want = Set(q.crossings)
            let label = "quit of \(q.client)"
            for c in q.crossings.sorted() where got[c, default: 0] != 1 {
                let (from, to) = links.ends(c)
                diffs.append(Difference(node: from, field: .quit,
                                        detail: got[c, default: 0] == 0 ? "\(label) never crossed \(from) → \(to)"
                                                                        : "\(label) crossed \(from) → \(to) \(got[c]!) times, expected once"))
            }
            for c in Set(got.keys).subtracting(want).sorted() {
                let echo = want.contains(Crossing(c.link, c.direction == .up ? .down : .up))
                diffs.append(Difference(node: links.ends(c).from, field: .quit,
                                        detail: echo ? "\(label) was sent back \(links.describe(c)), the way it came (an echo)"
                                                     : "\(label) crossed \(links.describe(c)), outside the part of the tree it had to reach"))
            }
        }
        return diffs
    }
}
