import CRCCore
import Dispatch
import NIOConcurrencyHelpers

extension NetworkModel {
    /// A server's expected state in short: its table's size and fingerprint instead of the table.
    public struct ServerSummary: Sendable, Equatable {
        public var hosts: Int
        /// `Fingerprint` of the expected (id, first link) pairs.
        public var fingerprint: UInt64
        public var adjacentServers: Set<UInt32>
        public var adjacentClients: Set<UInt32>
    }

    /// A client's expected users in short.
    public struct UsersSummary: Sendable, Equatable {
        public var users: Int
        public var fingerprint: UInt64
        public init(users: Int, fingerprint: UInt64) {
            self.users = users
            self.fingerprint = fingerprint
        }
    }

    /// Every live server's expected state in short, all in one pass over integer arrays: a walk of
    /// the tree from each server (servers × (servers + clients) steps, no per-server tables), so
    /// that networks of thousands of servers can be checked in seconds. Agrees with
    /// `expectedServer` (ModelScaleTests).
    public func expectedServerSummaries() -> [String: ServerSummary] {
        let live = liveServers
        var index: [String: Int] = [:]
        for (i, s) in live.enumerated() { index[s] = i }
        let ids = live.map { serverID[$0]! }
        var neighbours = [[Int]](repeating: [], count: live.count)
        for (child, up) in uplink {
            guard let a = index[child], let b = index[up] else { continue }
            neighbours[a].append(b)
            neighbours[b].append(a)
        }
        var clientLists = [[UInt32]](repeating: [], count: live.count)
        for c in topology.clients where isLive(c.name) {
            if let s = index[c.server] { clientLists[s].append(c.id) }
        }
        let (adjacency, clientsAt) = (neighbours, clientLists)
        let results = NIOLockedValueBox([ServerSummary?](repeating: nil, count: live.count))
        let pieces = min(live.count, 64)
        // Each walk is independent: the sources are shared out across the cores.
        DispatchQueue.concurrentPerform(iterations: pieces) { piece in
            var firstHop = [Int](repeating: -1, count: live.count)
            var queue = [Int]()
            queue.reserveCapacity(live.count)
            var local: [(Int, ServerSummary)] = []
            for source in stride(from: piece, to: live.count, by: pieces) {
                for i in firstHop.indices { firstHop[i] = -1 }
                queue.removeAll(keepingCapacity: true)
                firstHop[source] = source
                queue.append(source)
                var head = 0
                var count = clientsAt[source].count
                var sum: UInt64 = 0
                for c in clientsAt[source] { sum &+= Fingerprint.mix(Fingerprint.pair(c, c)) }
                while head < queue.count {
                    let s = queue[head]
                    head += 1
                    for n in adjacency[s] where firstHop[n] < 0 {
                        let hop = s == source ? n : firstHop[s]
                        firstHop[n] = hop
                        queue.append(n)
                        let link = ids[hop]
                        sum &+= Fingerprint.mix(Fingerprint.pair(ids[n], link))
                        for c in clientsAt[n] { sum &+= Fingerprint.mix(Fingerprint.pair(c, link)) }
                        count += 1 + clientsAt[n].count
                    }
                }
                local.append((source, ServerSummary(hosts: count, fingerprint: sum,
                                                    adjacentServers: Set(adjacency[source].map { ids[$0] }),
                                                    adjacentClients: Set(clientsAt[source]))))
            }
            results.withLockedValue { all in for (i, r) in local { all[i] = r } }
        }
        var out: [String: ServerSummary] = [:]
        for (i, summary) in results.withLockedValue({ $0 }).enumerated() { out[live[i]] = summary }
        return out
    }

    /// Every live client's expected users in short: the live clients of its part of the tree but
    /// itself (refused clients: none). One pass to find the parts, one sum per part.
    public func expectedUserSummaries() -> [String: UsersSummary] {
        var part: [String: String] = [:]
        for s in liveServers { part[s] = root(of: s) }
        var total: [String: (count: Int, sum: UInt64)] = [:]
        for c in topology.clients where isLive(c.name) {
            guard let p = part[c.server] else { continue }
            total[p, default: (0, 0)].count += 1
            total[p, default: (0, 0)].sum &+= Fingerprint.mix(UInt64(c.id))
        }
        var out: [String: UsersSummary] = [:]
        for c in topology.clients {
            if status[c.name] == .refused {
                out[c.name] = UsersSummary(users: 0, fingerprint: 0)
            } else if isLive(c.name), let p = part[c.server], let t = total[p] {
                out[c.name] = UsersSummary(users: t.count - 1, fingerprint: t.sum &- Fingerprint.mix(UInt64(c.id)))
            }
        }
        return out
    }

    /// A live or refused client's expected logs, without working out its users.
    public func expectedClientLogs(_ name: String) -> (statusLog: [String], chatLog: [String])? {
        guard status[name] == .live || status[name] == .refused else { return nil }
        let logs = clientLogs[name] ?? ([], [])
        return (logs.status, status[name] == .refused ? [] : logs.chats)
    }
}
