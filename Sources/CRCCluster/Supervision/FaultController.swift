import CRCProcess
import Foundation
import NIOPosix

/// The run's faults on links: a `LinkRelay` on every link that a step cuts, delays or heals, and
/// on every link when tapping. Faults only inject; what crossed is the wire log's, judged by the
/// checkers. Driven by the thread running the scenario; `close` after every process has ended.
final class FaultController {
    /// The links that go through a relay, by the node below them.
    let relayedLinks: Set<String>
    private let tap: WireLog?
    private let gate: (any DeliveryGate)?
    private var relays: [String: LinkRelay] = [:]
    private var group: MultiThreadedEventLoopGroup?

    init(relayedLinks: Set<String>, tap: WireLog?, gate: (any DeliveryGate)? = nil) {
        self.relayedLinks = relayedLinks
        self.tap = tap
        self.gate = gate
    }

    func isRelayed(_ link: String) -> Bool { relayedLinks.contains(link) }

    /// The port the node below `link` dials: its upstream's own, or the relay on that link (opened
    /// the first time, and kept while the run lasts, so a restarted node dials the same port).
    func port(for link: String, upstreamHost: String, upstreamPort: Int) throws -> Int {
        guard relayedLinks.contains(link) else { return upstreamPort }
        if let relay = relays[link] { return relay.port }
        let group = self.group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let relay = LinkRelay(name: link, targetHost: upstreamHost, targetPort: upstreamPort, loop: group.next(), tap: tap, gate: gate)
        do { try relay.start() } catch {
            throw ClusterError("cannot open a relay for the link of '\(link)': \(error)")
        }
        relays[link] = relay
        return relay.port
    }

    private func relay(_ link: String) throws -> LinkRelay {
        guard let relay = relays[link] else { throw ClusterError("no relay on the link of '\(link)': is it running?") }
        return relay
    }

    /// The links held back now, and by how long (ms): set by `delay`, cleared by `heal`.
    private(set) var delays: [String: Int] = [:]

    func cut(_ link: String) throws { try relay(link).cut() }
    func heal(_ link: String) throws {
        try relay(link).heal()
        delays[link] = nil
    }
    func delay(_ link: String, ms: Int) throws {
        try relay(link).setDelay(.milliseconds(Int64(ms)))
        delays[link] = ms > 0 ? ms : nil
    }

    /// Closes every relay and their event loop.
    func close() {
        for relay in relays.values { relay.close() }
        try? group?.syncShutdownGracefully()
        group = nil
    }
}
