import CRCProtocol

/// What a node without a state interface holds, as the wire implies it (see `WireChecker`).
extension WireChecker {
    // MARK: Observations

    /// What a server was told, by the protocol's rules: its table as the wire implies it.
    /// `echoes`: `tolerated(links:records:)` when the caller observes many servers of one record.
    public static func observeServer(_ server: String, links: Links, records: [WireRecord],
                                     profile: WireProfile = .course, echoes given: [Int: Set<UInt32>]? = nil) -> ConvergenceChecker.ServerObservation {
        guard let me = links.id[server] else {
            return .init(hosts: [:], adjacentServers: [], adjacentClients: [], statusLog: [], firstMessages: [])
        }
        let (uplink, downlinks) = links.links(of: server)
        let downSet = Set(downlinks)
        var hosts: [UInt32: UInt32] = [:]
        var adjacentServers: Set<UInt32> = [], adjacentClients: Set<UInt32> = []
        var statusLog: [String] = []
        var firstMessages: [String: String] = [:]   // "link#conn" → hex
        var peerOn: [String: UInt32] = [:]          // "link#conn" → the adjacent machine registered on it
        var echoed: [String: Set<UInt32>] = [:]     // "link#conn" → ids this server echoed there (course habits)
        var sentOwn: [String: Int] = [:]
        let echoes = profile == .course ? (given ?? tolerated(links: links, records: records)) : [:]
        for (i, r) in records.enumerated() {
            let key = "\(r.link)#\(r.connection)"
            let inbound: Bool
            if r.link == uplink { inbound = r.direction == .down } else if downSet.contains(r.link) { inbound = r.direction == .up } else { continue }
            if !inbound {
                // What it sent: only to remember its own echoes.
                if let m = r.message, case .serverRegistration(let reg) = m, r.link == uplink, reg.sourceID == me { sentOwn[key, default: 0] += 1 }
                if let ids = echoes[i] { echoed[key, default: []].formUnion(ids) }
                continue
            }
            guard let peer = links.id[r.link == uplink ? links.upper[server]! : r.link] else { continue }
            switch r.event {
            case .closed:
                if let p = peerOn[key] {
                    adjacentServers.remove(p)
                    if adjacentClients.remove(p) != nil { hosts[p] = nil }
                }
            case .undecodable:
                break
            case .message(let m):
                if downSet.contains(r.link), links.topology.server(named: r.link) != nil, firstMessages[key] == nil {
                    firstMessages[key] = m.hex
                }
                switch m {
                case .serverRegistration(let reg), .clientRegistration(let reg):
                    guard reg.sourceID != me, hosts[reg.sourceID] == nil else { continue }
                    hosts[reg.sourceID] = peer
                    if reg.isFromAdjacent {
                        if case .serverRegistration = m { adjacentServers.insert(reg.sourceID) } else { adjacentClients.insert(reg.sourceID) }
                        peerOn[key] = reg.sourceID
                    }
                case .status(let s) where s.destinationID == me || s.destinationID == 0:
                    let text = s.text.utf8String
                    if profile == .course, s.code == .duplicateID {
                        // The answer to an echo of ours (our own registration again, or one sent back).
                        let about = echoed[key] ?? []
                        if (sentOwn[key, default: 0] > 1 && text.hasSuffix(" \(me)")) || about.contains(where: { text.hasSuffix(" \($0)") }) { continue }
                    }
                    statusLog.append(text)
                case .clientQuit(let q):
                    if hosts[q.sourceID] != nil, !(links.topology.servers.contains { $0.id == q.sourceID }) {
                        hosts[q.sourceID] = nil
                        adjacentClients.remove(q.sourceID)
                    }
                case .serverQuit(let q):
                    hosts[q.sourceID] = nil
                    adjacentServers.remove(q.sourceID)
                default:
                    break
                }
            }
        }
        return .init(hosts: hosts, adjacentServers: adjacentServers, adjacentClients: adjacentClients,
                     statusLog: statusLog,
                     // Only links that became server links: a refused newcomer's connection is not one.
                     firstMessages: firstMessages.filter { peerOn[$0.key] != nil }.sorted { $0.key < $1.key }.map(\.value))
    }

    /// What a client was told by its server.
    public static func observeClient(_ client: String, links: Links, records: [WireRecord]) -> ConvergenceChecker.ClientObservation {
        guard let me = links.id[client] else { return .init(users: [], statusLog: [], chatLog: []) }
        var users: Set<UInt32> = [], status: [String] = [], chats: [String] = []
        for r in records where r.link == client && r.direction == .down {
            guard let m = r.message else { continue }
            switch m {
            case .clientRegistration(let reg) where reg.sourceID != me: users.insert(reg.sourceID)
            case .clientQuit(let q): users.remove(q.sourceID)
            case .status(let s) where s.destinationID == me || s.destinationID == 0: status.append(s.text.utf8String)
            case .clientChat(let c) where c.destinationID == me: chats.append(c.text.utf8String)
            default: break
            }
        }
        return .init(users: users, statusLog: status, chatLog: chats)
    }

}
