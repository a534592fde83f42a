import CRCContract
import CRCCore
import CRCProtocol
import CSystemShims
import Logging
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The server's log: each core event as a log line, and repeated events summarised.
extension ServerRuntime {
    // MARK: Summarising repeated events

    /// A kind of event that repeats, by what makes two occurrences "the same".
    struct Repeats {
        var since: NIODeadline
        var suppressed = 0
    }

    /// Events a peer can make the server repeat at will (chats to an unknown id, spoofed or
    /// misplaced messages): the first of each kind in a second is logged, the rest are counted and
    /// summarised in one line at the end of that second (the same event with `count`).
    static func throttleKey(_ event: ServerEvent) -> String? {
        switch event {
        case .chatUnknownDestination(let source, let destination): return "u|\(source)|\(destination)"
        case .statusDropped(let source, let destination): return "s|\(source)|\(destination)"
        case .dropped(let reason, let link): return "d|\(link.rawValue)|\(reason)"
        default: return nil
        }
    }

    /// True when this occurrence should be logged; otherwise it is counted, and a summary is
    /// written a second after the first occurrence (`summary`, or the event with a count).
    func throttle(_ key: String, _ event: ServerEvent?, summary: ((Int) -> Void)? = nil) -> Bool {
        let now = NIODeadline.now()
        if var r = repeats[key], now - r.since < .seconds(1) {
            if r.suppressed == 0 {
                eventLoop.scheduleTask(deadline: r.since + .seconds(1)) { [self] in
                    guard let r = repeats.removeValue(forKey: key), r.suppressed > 0 else { return }
                    if let summary { summary(r.suppressed) } else if let event { log(event, count: r.suppressed) }
                }
            }
            r.suppressed += 1
            repeats[key] = r
            return false
        }
        repeats[key] = Repeats(since: now)
        if repeats.count > 100_000 { repeats = repeats.filter { now - $0.value.since < .seconds(1) } }
        return true
    }


    func log(_ event: ServerEvent, count: Int? = nil) {
        switch event {
        case .linkUp(let link, let outbound):
            logger.info(.linkUp, metadata: ["link": .stringConvertible(link.rawValue), "direction": .string(outbound ? "outbound" : "inbound"),
                                             "remote": .string(links[link]?.remote ?? "?")])
        case .linkDown(let link, let peer):
            var md: Logger.Metadata = ["link": .stringConvertible(link.rawValue), "peer_kind": .string(peer.kindName)]
            if let id = peer.peerID { md["peer_id"] = .stringConvertible(id) }
            logger.info(.linkDown, metadata: md)
        case .registered(let host, let adjacent, let link):
            logger.info(.registered, metadata: [
                "id": .stringConvertible(host.id), "kind": .string(host.kind.rawValue), "name": .string(host.name),
                "info": .string(host.info), "first_link": .stringConvertible(host.firstLink), "adjacent": .stringConvertible(adjacent),
                "link": .stringConvertible(link.rawValue),
            ])
        case .duplicateRefused(let id, let kind, let link):
            logger.warning(.duplicateRefused, metadata: ["id": .stringConvertible(id), "kind": .string(kind.rawValue), "link": .stringConvertible(link.rawValue)])
        case .ownRegistrationEcho(let sid, let link):
            logger.debug(.registrationEcho, metadata: ["id": .stringConvertible(sid), "link": .stringConvertible(link.rawValue)])
        case .ownRegistrationRefused(let text):
            logger.error(.ownRegistrationRefused, metadata: ["text": .string(text)])
        case .forwarded(let type, let source, let to):
            logger.trace(.forwarded, metadata: ["type": .string("\(type)"), "source": .stringConvertible(source),
                                                 "to": .array(to.map { .stringConvertible($0) })])
        case .chatRouted(let source, let destination, let nextHop):
            logger.debug(.chat, metadata: ["source": .stringConvertible(source), "destination": .stringConvertible(destination), "next_hop": .stringConvertible(nextHop)])
        case .chatUnknownDestination(let source, let destination):
            var md: Logger.Metadata = ["source": .stringConvertible(source), "destination": .stringConvertible(destination)]
            if let count { md["count"] = .stringConvertible(count) }
            logger.info(.chatUnknownDestination, metadata: md)
        case .statusReceived(let source, let code, let text):
            logger.info(.status, metadata: ["source": .stringConvertible(source), "code": .string(code.description), "text": .string(text)])
        case .statusRouted(let source, let destination, let nextHop):
            logger.debug(.statusRouted, metadata: ["source": .stringConvertible(source), "destination": .stringConvertible(destination), "next_hop": .stringConvertible(nextHop)])
        case .statusDropped(let source, let destination):
            var md: Logger.Metadata = ["source": .stringConvertible(source), "destination": .stringConvertible(destination)]
            if let count { md["count"] = .stringConvertible(count) }
            logger.info(.statusDropped, metadata: md)
        case .clientQuit(let id, let text):
            logger.info(.clientQuit, metadata: ["id": .stringConvertible(id), "text": .string(text)])
        case .serverQuit(let id, let text):
            logger.info(.serverQuit, metadata: ["id": .stringConvertible(id), "text": .string(text)])
        case .upstreamLost(let retry):
            var md: Logger.Metadata = ["remote": .string(lostUpstreamRemote)]
            if let retry { md["retry_in_ms"] = .stringConvertible(retry) }
            logger.warning(.upstreamLost, metadata: md)
        case .hostsLost(let server, let lost):
            logger.info(.hostsLost, metadata: ["behind": .stringConvertible(server), "lost": .array(lost.map { .stringConvertible($0) })])
        case .dropped(let reason, let link):
            var md: Logger.Metadata = ["reason": .string(reason), "link": .stringConvertible(link.rawValue)]
            if let count { md["count"] = .stringConvertible(count) }
            logger.warning(.dropped, metadata: md)
        }
    }
}
