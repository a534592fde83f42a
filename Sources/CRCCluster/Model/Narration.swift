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

    func name(_ id: Any?) -> String {
        guard let i = id as? Int else { return "?" }
        return nameOf[UInt32(truncatingIfNeeded: i)] ?? "\(i)"
    }

    /// The line for one event a node printed (its JSON object), if people should see it.
    public func narrate(node: String, event o: [String: Any]) -> Narration? {
        guard let event = o["event"] as? String else { return nil }
        let isClient = topology.client(named: node) != nil
        func say(_ kind: Narration.Kind, _ text: String) -> Narration { Narration(kind: kind, node: node, text: text) }
        if isClient {
            let server = topology.client(named: node)?.server ?? "?"
            switch event {
            case "registered": return say(.joins, "\(node) joined \(server)")
            case "refused": return say(.joins, "\(node) was refused by \(server): \(o["text"] as? String ?? "")")
            case "chat": return say(.chats, "[\(name(o["from"])) → \(node)] \(o["text"] as? String ?? "")")
            case "status": return say(.statuses, "\(node) got a status from \(name(o["source"])): \(o["text"] as? String ?? "")")
            case "disconnected": return say(.faults, "\(node) lost its server \(server)")
            default: return nil  // user_joined/left: every client hears of every other; digest/state: our polling
            }
        }
        switch event {
        case "ready":
            return say(.joins, "\(node) is listening on port \(o["port"] as? Int ?? 0)")
        case "registered":
            // Only a neighbour attaching: every server records every host, which is N² lines.
            guard o["adjacent"] as? Bool == true, o["kind"] as? String == "server" else { return nil }
            return say(.joins, "\(o["name"] as? String ?? name(o["id"])) attached to \(node)")
        case "client_quit":
            guard let id = o["id"] as? Int, topology.client(named: name(id))?.server == node else { return nil }
            return say(.joins, "\(name(id)) quit: \(o["text"] as? String ?? "")")
        case "hosts_lost":
            let lost = (o["lost"] as? [Int]) ?? []
            let names = lost.prefix(8).map { name($0) }.joined(separator: ", ") + (lost.count > 8 ? ", …" : "")
            return say(.faults, "\(node) lost the link to \(name(o["behind"])) and forgot \(lost.count) host\(lost.count == 1 ? "" : "s"): \(names)")
        case "upstream_lost":
            return say(.faults, "\(node) lost its upstream; it will try to rejoin")
        case "rejoined":
            return say(.joins, "\(node) rejoined its upstream")
        case "signal":
            return say(.faults, "\(node) got \(o["signal"] as? String ?? "a signal") and is leaving")
        case "chat_unknown_destination":
            return say(.statuses, "\(node) does not know id \(o["destination"] as? Int ?? 0) (asked by \(name(o["source"])))")
        case "duplicate_refused":
            return say(.joins, "\(node) refused a \(o["kind"] as? String ?? "machine") with the duplicate id \(o["id"] as? Int ?? 0)")
        default:
            return nil
        }
    }
}

extension Narrator {
    /// A line of crc-server's readable stderr (`12:00:01.234 info registered id=2 kind=server …`)
    /// as the event object its log file would hold: numbers as Int, `[1,2]` as [Int], `true`/`false`
    /// as Bool, quoted values unquoted. nil when the line is not in that form.
    public static func parseServerText(_ line: String) -> [String: Any]? {
        let chars = Array(line)
        var i = 0
        func word() -> String {
            let start = i
            while i < chars.count, chars[i] != " " { i += 1 }
            defer { while i < chars.count, chars[i] == " " { i += 1 } }
            return String(chars[start..<i])
        }
        let time = word(), level = word(), event = word()
        guard time.count >= 8, time.dropFirst(2).first == ":", ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level),
              !event.isEmpty else { return nil }
        var out: [String: Any] = ["event": event, "level": level]
        while i < chars.count {
            let keyStart = i
            while i < chars.count, chars[i] != "=", chars[i] != " " { i += 1 }
            guard i < chars.count, chars[i] == "=" else { break }
            let key = String(chars[keyStart..<i])
            i += 1
            var value = ""
            if i < chars.count, chars[i] == "\"" {
                i += 1
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    value.append(chars[i])
                    i += 1
                }
                i += 1
                out[key] = value
            } else {
                while i < chars.count, chars[i] != " " { value.append(chars[i]); i += 1 }
                if value.hasPrefix("["), value.hasSuffix("]") {
                    out[key] = value.dropFirst().dropLast().split(separator: ",").compactMap { Int($0) }
                } else if let n = Int(value) {
                    out[key] = n
                } else if value == "true" || value == "false" {
                    out[key] = value == "true"
                } else {
                    out[key] = value
                }
            }
            while i < chars.count, chars[i] == " " { i += 1 }
        }
        return out
    }
}
