/// A chat a scenario sent, and where the model says it must go.
public struct ChatRecord: Sendable {
    public var from: String
    public var sourceID: UInt32
    public var to: String
    public var destinationID: UInt32
    public var text: String
    public var outcome: NetworkModel.ChatOutcome
    /// The wire's record count when it was sent (where to look for it).
    public var fromRecord = 0
    /// Sent before the network had settled (explore): judged by `ChatRaces`.
    public var raced = false

    public init(from: String, sourceID: UInt32, to: String, destinationID: UInt32, text: String, outcome: NetworkModel.ChatOutcome) {
        self.from = from
        self.sourceID = sourceID
        self.to = to
        self.destinationID = destinationID
        self.text = text
        self.outcome = outcome
    }

    /// "frodo → theshire → grey_havens → minastirith → aragorn", by name; for an unknown id, the
    /// server that must answer.
    public var expectedPath: String {
        switch outcome {
        case .delivered(let target, let hops):
            return ([from] + hops.map(\.server) + [target]).joined(separator: " → ")
        case .unknownDestination(let server):
            return "\(from) → \(server): unknown id \(destinationID), answered by \(server)"
        case .senderNotLive:
            return "\(from) is not running: not sent"
        }
    }
}

/// The path chats really took, read from the servers' routing events (`chat` lines: source,
/// destination, next hop). Pure: the caller reads the logs.
public struct ObservedPaths: Sendable {
    /// For each server (by name), the next hop it logged for each (source, destination).
    var nextHops: [String: [Flow: UInt32]] = [:]
    struct Flow: Hashable, Sendable { var source: UInt32; var destination: UInt32 }

    public init() {}

    public mutating func record(server: String, source: UInt32, destination: UInt32, nextHop: UInt32) {
        nextHops[server, default: [:]][Flow(source: source, destination: destination)] = nextHop
    }

    /// The path from the sender's server, hop by hop, by name: "frodo → theshire → … → aragorn";
    /// where no server logged the next hop, the path ends in "✗ (lost after NAME)".
    public func path(of chat: ChatRecord, in topology: Topology) -> String {
        guard let sender = topology.client(named: chat.from) else { return chat.from }
        let serverName = Dictionary(topology.servers.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var names = [chat.from]
        var current = sender.server
        var seen = Set<String>()
        while seen.insert(current).inserted {
            names.append(current)
            guard let next = nextHops[current]?[Flow(source: chat.sourceID, destination: chat.destinationID)] else {
                return names.joined(separator: " → ") + " → ✗ (no next hop logged by \(current))"
            }
            if next == chat.destinationID { return (names + [chat.to]).joined(separator: " → ") }
            guard let nextServer = serverName[next] else {
                return names.joined(separator: " → ") + " → ✗ (next hop \(next) is not a server)"
            }
            current = nextServer
        }
        return names.joined(separator: " → ") + " → ✗ (a loop)"
    }
}
