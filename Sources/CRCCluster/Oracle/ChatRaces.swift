import CRCProtocol

/// What a chat sent before the network settled must meet (`crc-cluster explore`, where a chat
/// step may race the registrations the previous step set in motion).
///
/// A server routes a chat by what it knows when the chat arrives. The chat's sender's server is
/// the one that decides: if it knows the destination, so does every server between it and the
/// destination (each passed the registration on only after recording it), and the chat goes
/// through; if not, it answers "Unknown ID", which is then right. Which of the two it was is read
/// from the wire, whose records (under explore's scheduler) are in the order of delivery.
public enum ChatRaces {
    /// Whether `server` had been told of client `chat.destinationID` — its registration delivered
    /// to it, and no quit since — when `chat` reached it from its sender. nil: the wire does not
    /// show the chat reaching that server from its sender (the check says so on its own).
    public static func destinationKnown(_ chat: ChatRecord, at server: String, records: [WireRecord], topology: Topology) -> Bool? {
        var known = false
        for (i, r) in records.enumerated() {
            guard case .message(let m) = r.event, receiver(of: r, in: topology) == server else { continue }
            switch m {
            case .clientRegistration(let reg) where reg.sourceID == chat.destinationID:
                known = true
            case .clientQuit(let q) where q.sourceID == chat.destinationID:
                known = false
            case .clientChat(let c) where i >= chat.fromRecord && r.link == chat.from && r.direction == .up
                && c.sourceID == chat.sourceID && c.destinationID == chat.destinationID && c.text.utf8String == chat.text:
                return known
            default:
                break
            }
        }
        return nil
    }

    /// The node a record was delivered to: up a link, the node above it (a server's upstream, a
    /// client's server); down, the node the link is named after.
    static func receiver(of r: WireRecord, in topology: Topology) -> String? {
        guard r.direction == .up else { return r.link }
        return topology.server(named: r.link)?.upstream ?? topology.client(named: r.link)?.server
    }
}
