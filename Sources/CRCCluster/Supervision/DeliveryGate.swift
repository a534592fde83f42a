import Foundation
import NIOCore

/// One message a relay has framed and holds, waiting for a `DeliveryGate` to let it through.
public struct HeldMessage: Sendable {
    /// The link (named by the node below it), which of its connections, which way.
    public var link: String
    public var connection: Int
    public var direction: WireDirection
    /// What it is: a CRC message, bytes that are not one (passed on as they are), or the
    /// connection closing (passed on by closing the other side).
    public var event: WireRecord.Event

    /// The FIFO it is held in: a TCP connection's order is never changed, only the interleaving
    /// of connections.
    public var queue: String { "\(link)#\(connection)\(direction == .up ? "↑" : "↓")" }
}

/// Who decides when each message on a relayed link is passed on (`crc-cluster explore`): the
/// relays hand every framed message to the gate instead of forwarding it, and the launcher asks
/// it before starting each node. Without a gate, relays forward at once.
///
/// The relay side is called on the relays' event loop; the launcher side on the thread running
/// the scenario. A gate is one run's: `release` at teardown passes everything on from then on.
public protocol DeliveryGate: AnyObject, Sendable {
    /// A relay holds `message`; `deliver` passes it on (once, from any thread; `reordered`: out
    /// of the default order, as the wire log records it) and completes when it has been written.
    func hold(_ message: HeldMessage, deliver: @escaping @Sendable (_ reordered: Bool) -> EventLoopFuture<Void>)
    /// Bytes or connections moved on a relay (quiescence waits for these to stop).
    func relayActivity()
    /// Before the launcher starts `node`: returns when the gate lets it start. `settled`: the
    /// scenario means it to start once the network has settled (a node it expects refused as a
    /// duplicate must find the original known everywhere), so it is no choice to start it earlier.
    func awaitStart(_ node: String, settled: Bool)
    /// The launcher started `node` as process `pid` (quiescence waits for its threads to sleep).
    func started(_ node: String, pid: Int32)
    /// The launcher waits on the network (a client's welcome, a check) or is busy (starting a
    /// process, reading its ready line): the gate decides only while it waits or asks.
    func launcher(waiting: Bool)
    /// Waits until nothing is held and the network is quiet, or `deadline`; false at the deadline.
    func awaitIdle(until deadline: Date) -> Bool
    /// The run is over: pass every held message on, and every later one at once.
    func release()
    /// Whether a chat or quit step may go before the network has settled: the check before it is
    /// left to the one after it (which judges a chat by what its sender's server knew,
    /// `ChatRaces`), and the gate says when it is sent (`awaitCommand`), a choice like a delivery.
    var racesCommands: Bool { get }
    /// Before a step's line goes to its client (`node`): returns when the gate lets it go. `key`
    /// names the step across runs ("step 2"), `what` says what it is. `afterJoins`: only once
    /// every running server has joined the tree (a quit: a server that joins after the quit has
    /// passed its upstream never hears of the client, and what the quit must cross assumes it does).
    func awaitCommand(_ key: String, from node: String, what: String, afterJoins: Bool)
}

extension DeliveryGate {
    /// By default, steps wait for the network to settle.
    public var racesCommands: Bool { false }
    public func awaitCommand(_ key: String, from node: String, what: String, afterJoins: Bool) {}

    /// Runs `body` (a wait on the network) with the launcher counted as waiting.
    func whileWaiting<T>(_ body: () throws -> T) rethrows -> T {
        launcher(waiting: true)
        defer { launcher(waiting: false) }
        return try body()
    }
}
