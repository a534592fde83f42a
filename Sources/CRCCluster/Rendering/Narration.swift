import CRCContract

/// What `up` tells people: a node's raw event turned into one readable line, or nothing. Pure.
///
/// Only what matters to someone watching the network: nodes joining and leaving, chats as
/// `[bilbo → aragorn] Hello`, statuses, faults, convergence. crc-cluster's own polling (digests,
/// states) and each server's per-host bookkeeping (every server logs every registration: N² lines)
/// are never shown.
public struct Narration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case joins, chats, statuses, faults, convergence
    }

    public var kind: Kind
    public var node: String
    public var text: String

    public init(kind: Kind, node: String, text: String) {
        self.kind = kind
        self.node = node
        self.text = text
    }
}

public struct Narrator: Sendable {
    let topology: Topology
    let nameOf: [UInt32: String]

    public init(topology: Topology) {
        self.topology = topology
        var names: [UInt32: String] = [:]
        for s in topology.servers where s.refused != true { names[s.id] = names[s.id] ?? s.name }
        for c in topology.clients where c.refused != true { names[c.id] = names[c.id] ?? c.name }
        nameOf = names
    }

    func name(_ id: Int?) -> String {
        guard let i = id else { return "?" }
        return nameOf[UInt32(truncatingIfNeeded: i)] ?? "\(i)"
    }

    /// The line for one event a node printed, if people should see it.
    public func narrate(node: String, event o: NodeEvent) -> Narration? {
        let isClient = topology.client(named: node) != nil
        func say(_ kind: Narration.Kind, _ text: String) -> Narration { Narration(kind: kind, node: node, text: text) }
        if isClient {
            let server = topology.client(named: node)?.server ?? "?"
            switch o.kind {
            case .registered: return say(.joins, "\(node) joined \(server)")
            case .refused: return say(.joins, "\(node) was refused by \(server): \(o.string("text") ?? "")")
            case .chat: return say(.chats, "[\(name(o.int("from"))) → \(node)] \(o.string("text") ?? "")")
            case .status: return say(.statuses, "\(node) got a status from \(name(o.int("source"))): \(o.string("text") ?? "")")
            case .disconnected: return say(.faults, "\(node) lost its server \(server)")
            default: return nil  // user_joined/left: every client hears of every other; digest/state: our polling
            }
        }
        switch o.kind {
        case .ready:
            return say(.joins, "\(node) is listening on port \(o.int("port") ?? 0)")
        case .registered:
            // Only a neighbour attaching: every server records every host, which is N² lines.
            guard o.bool("adjacent") == true, o.string("kind") == "server" else { return nil }
            return say(.joins, "\(o.string("name") ?? name(o.int("id"))) attached to \(node)")
        case .clientQuit:
            guard let id = o.int("id"), topology.client(named: name(id))?.server == node else { return nil }
            return say(.joins, "\(name(id)) quit: \(o.string("text") ?? "")")
        case .hostsLost:
            let lost = o.ints("lost") ?? []
            let names = lost.prefix(8).map { name($0) }.joined(separator: ", ") + (lost.count > 8 ? ", …" : "")
            return say(.faults, "\(node) lost the link to \(name(o.int("behind"))) and forgot \(lost.count) host\(lost.count == 1 ? "" : "s"): \(names)")
        case .upstreamLost:
            return say(.faults, "\(node) lost its upstream; it will try to rejoin")
        case .rejoined:
            return say(.joins, "\(node) rejoined its upstream")
        case .signal:
            return say(.faults, "\(node) got \(o.string("signal") ?? "a signal") and is leaving")
        case .chatUnknownDestination:
            return say(.statuses, "\(node) does not know id \(o.int("destination") ?? 0) (asked by \(name(o.int("source"))))")
        case .duplicateRefused:
            return say(.joins, "\(node) refused a \(o.string("kind") ?? "machine") with the duplicate id \(o.int("id") ?? 0)")
        default:
            return nil
        }
    }
}
