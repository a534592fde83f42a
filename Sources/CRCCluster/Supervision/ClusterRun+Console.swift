import CRCCore
import CRCProtocol
import Foundation
import CRCProcess
import CRCContract

/// What `up`'s console asks of a running network: readable states, the hops a chat took, what
/// each part of the tree knows.
extension ClusterRun {
    /// Every chat sent so far, with where the model says it goes.
    public var chatRecords: [ChatRecord] { history.chats }

    /// "frodo (101)": a node by name and id.
    public func label(_ id: UInt32) -> String { links.name(id) }

    /// The hops a chat took, from the taps: each link crossing with its time, in order.
    public func hops(of chat: ChatRecord, from index: Int) -> [(from: String, to: String, time: Double)] {
        guard let wire else { return [] }
        var out: [(String, String, Double)] = []
        for r in wire.records(from: index) {
            guard let m = r.message, case .clientChat(let c) = m, c.sourceID == chat.sourceID,
                  c.destinationID == chat.destinationID, c.text.utf8String == chat.text else { continue }
            let (from, to) = links.ends(WireChecker.Crossing(r.link, r.direction))
            out.append((from, to, r.time))
        }
        return out
    }

    /// The answers an unknown destination got, from the taps (a status down the sender's link).
    public func answers(to chat: ChatRecord, from index: Int) -> [String] {
        guard let wire else { return [] }
        return wire.records(from: index).compactMap { r in
            guard r.link == chat.from, r.direction == .down, let m = r.message, case .status(let s) = m else { return nil }
            return s.text.utf8String
        }
    }

    /// What each live server should know now, by name: for before/after comparisons of a step.
    public func knowledge() -> [String: Set<UInt32>] {
        var out: [String: Set<UInt32>] = [:]
        for s in model.liveServers { out[s] = model.expectedServer(s).map { Set($0.hosts.keys) } ?? [] }
        return out
    }

    /// The live servers grouped into the trees they form now.
    public func components() -> [[String]] {
        var seen = Set<String>()
        var out: [[String]] = []
        for s in model.liveServers where !seen.contains(s) {
            let comp = model.servers(inComponentOf: s)
            seen.formUnion(comp)
            out.append(topology.servers.map(\.name).filter(comp.contains))
        }
        return out
    }

    /// A server's or a client's state as people read it.
    public func describeState(of name: String) throws -> String {
        if let spec = topology.server(named: name) {
            guard let node = servers[name], node.process.isRunning else { return "\(name) (server \(spec.id)) is not running" }
            // The same observer the checks use, asked for everything it sees.
            let round = observationRound()
            let o: ConvergenceChecker.ServerObservation
            switch node.observer.look(at: name, want: .everything, round: round) {
            case .observed(let seen, _): o = seen
            case .failed(let d): return "\(name): \(d.detail)"
            case .matches: return "\(name) has no state interface and its links are not tapped"
            }
            let hosts = o.hosts.map { ($0.key, $0.value) }
            let adjS = Array(o.adjacentServers), adjC = Array(o.adjacentClients), status = o.statusLog
            var out = "\(name) (server \(spec.id)\(node.monitorPort == nil ? ", seen from the wire" : ""))\n"
            out += "  adjacent servers: \(adjS.sorted().map(label).joined(separator: ", ").orNone)\n"
            out += "  adjacent clients: \(adjC.sorted().map(label).joined(separator: ", ").orNone)\n"
            out += "  hosts (\(hosts.count)), each with the neighbour it is reached through:\n"
            let width = hosts.map { label($0.0).count }.max() ?? 0
            for (id, first) in hosts.sorted(by: { $0.0 < $1.0 }) {
                out += "    \(label(id).padding(toLength: width, withPad: " ", startingAt: 0))  via \(label(first))\n"
            }
            out += "  status log: \(status.isEmpty ? "(empty)" : status.map { "\"\($0)\"" }.joined(separator: ", "))"
            return out
        }
        guard let spec = topology.client(named: name) else { throw ClusterError("no node named '\(name)'") }
        guard let c = clients[name], c.isRunning else { return "\(name) (client \(spec.id)) is not running" }
        let users: [UInt32], status: [String], chatsIn: [String]
        if !(c.observer is DigestObserver) {
            let o = WireChecker.observeClient(name, links: links, records: wire?.all ?? [])
            (users, status, chatsIn) = (o.users.sorted(), o.statusLog, o.chatLog)
        } else {
            let mark = c.mark
            c.send("state")
            guard let event = c.waitForEvent(.state, from: mark, timeout: 5) else { throw ClusterError("\(name) did not answer the state command") }
            guard let s = event.decode(ClientStateReport.self) else {
                throw ClusterError("\(name)'s state does not follow the contract (ClientStateReport): \(event)")
            }
            users = s.users.map(\.id).sorted()
            status = s.statusLog
            chatsIn = s.chatLog.map { "[\(label($0.from))] \($0.text)" }
        }
        var out = "\(name) (client \(spec.id), on \(spec.server))\n"
        out += "  knows \(users.count) users: \(users.map(label).joined(separator: ", ").orNone)\n"
        out += "  status log: \(status.isEmpty ? "(empty)" : status.map { "\"\($0)\"" }.joined(separator: ", "))\n"
        out += "  chats received: \(chatsIn.isEmpty ? "(none)" : "")"
        for c in chatsIn { out += "\n    \(c)" }
        return out
    }
}

extension String {
    /// The text, or "(none)" when it is empty.
    public var orNone: String { isEmpty ? "(none)" : self }
    /// The text padded with spaces to `n` characters (a table's column).
    public func padded(_ n: Int) -> String { count >= n ? self : padding(toLength: n, withPad: " ", startingAt: 0) }
}
