import CRCCluster
import Foundation
import NIOCore

/// The `DeliveryGate` of one explored run: the relays hold every message, and a scheduler thread
/// waits for the network to be quiet (`Quiescence`), lists what could happen next (the head of
/// each connection's queue, a node the launcher asks to start), lets the strategy pick one, and
/// does it. Every decision is recorded, with whether it departs from the default order.
///
/// One rule shapes what is enabled: messages on a server's link wait until the server above it
/// has joined (its own link has carried a message and holds nothing): the course's networks are
/// built top-down, each server joining a tree that has settled above it.
public final class ScheduledGate: DeliveryGate, @unchecked Sendable {  // all state under `lock`
    public struct Options: Sendable {
        /// How long nothing may move before a decision (ms).
        public var quietMilliseconds = 3.0
        public init() {}
    }

    private struct Held {
        var seq: Int
        /// Decisions taken when it was held: what one decision causes is held before the next
        /// (quiescence), so messages of one epoch are consequences of the same decision, and
        /// their arrival order at the relay (which socket epoll reported first) means nothing.
        var epoch: Int
        var message: HeldMessage
        var deliver: @Sendable (Bool) -> EventLoopFuture<Void>
    }

    private let lock = NSCondition()
    private var queues: [String: [Held]] = [:]
    private var seq = 0
    private var activity = 0
    private var pids: [String: Int32] = [:]
    private var waiting = 0
    /// What the launcher asks for: a start, or a step's command.
    private struct Ask {
        var kind: Choice.Kind
        var key: String
        var node: String
        var what: String
        /// A start the scenario means to happen once the network has settled.
        var settled: Bool
        /// A step that may go only once every running server has joined (or nothing else can happen).
        var afterJoins = false
    }
    private var asking: Ask?
    private var asks = 0
    private var spawning = false
    /// A node just started whose first message on its link is not held yet, and since when.
    private var awaitingFirst: String?
    private var awaitingSince = Date()
    private var released = false
    private var idle = false
    private var joined: Set<String> = []
    private var deliveredOn: [String: Int] = [:]
    private var deliveredFrom: [String: Int] = [:]
    /// Events a reordering went before: when they come, they come late.
    private var heldBack: Set<String> = []
    private var strategyBox: any Strategy
    private var taken: [Decision] = []
    private var finished = false

    /// The node above each link (its server, or its upstream); servers without one are roots.
    private let above: [String: String]
    private let servers: Set<String>
    let options: Options

    public init(topology: Topology, strategy: any Strategy, options: Options = Options()) {
        var above: [String: String] = [:]
        for s in topology.servers { if let up = s.upstream { above[s.name] = up } }
        for c in topology.clients { above[c.name] = c.server }
        self.above = above
        self.servers = Set(topology.servers.map(\.name))
        self.strategyBox = strategy
        self.options = options
        // The thread keeps the gate alive until `release` ends it.
        let thread = Thread { [self] in self.schedule() }
        thread.name = "crc-explore-scheduler"
        thread.start()
    }

    /// The decisions taken so far, and the strategy as it ended (a replay says if it diverged).
    public var decisions: [Decision] { lock.withLock { taken } }
    public var strategy: any Strategy { lock.withLock { strategyBox } }

    // MARK: DeliveryGate

    public func hold(_ message: HeldMessage, deliver: @escaping @Sendable (Bool) -> EventLoopFuture<Void>) {
        lock.lock()
        if released {
            lock.unlock()
            _ = deliver(false)
            return
        }
        seq += 1
        activity += 1
        idle = false
        queues[message.queue, default: []].append(Held(seq: seq, epoch: taken.count, message: message, deliver: deliver))
        if message.link == awaitingFirst, message.direction == .up { awaitingFirst = nil }
        lock.broadcast()
        lock.unlock()
    }

    public func relayActivity() { lock.withLock { activity += 1 } }

    public func awaitStart(_ node: String, settled: Bool) {
        ask(Ask(kind: .start, key: node, node: node, what: "start \(node)", settled: settled))
    }

    /// Chat and quit steps are choices: sent when the strategy says, maybe before the network settled.
    public var racesCommands: Bool { true }

    public func awaitCommand(_ key: String, from node: String, what: String, afterJoins: Bool) {
        ask(Ask(kind: .command, key: key, node: node, what: what, settled: false, afterJoins: afterJoins))
    }

    /// Asks for `a` and waits until the scheduler has chosen it (or the gate is released).
    private func ask(_ a: Ask) {
        lock.lock()
        defer { lock.unlock() }
        guard !released else { return }
        asks += 1
        let mine = asks
        asking = a
        idle = false
        lock.broadcast()
        while asking != nil, asks == mine, !released { lock.wait() }
        asking = nil
    }

    public func started(_ node: String, pid: Int32) {
        lock.withLock {
            pids[node] = pid
            spawning = false
            // Its registration is the start's own consequence: decide again once it is held
            // (a node that never sends one is waited for a second).
            if above[node] != nil { (awaitingFirst, awaitingSince) = (node, Date()) }
            activity += 1
            lock.broadcast()
        }
    }

    public func launcher(waiting: Bool) {
        lock.withLock {
            self.waiting += waiting ? 1 : -1
            // The launcher goes on to act (a step, a start): what was idle may not be any more.
            if !waiting { idle = false }
            activity += 1
            lock.broadcast()
        }
    }

    public func awaitIdle(until deadline: Date) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while !idle, !released {
            if !lock.wait(until: deadline) { return idle }
        }
        return true
    }

    public func release() {
        lock.lock()
        released = true
        let rest = queues.values.flatMap { $0 }.sorted { $0.seq < $1.seq }  // arrival order: the real one
        queues = [:]
        for h in rest { _ = h.deliver(false) }
        lock.broadcast()
        while !finished { lock.wait() }
        lock.unlock()
    }

    // MARK: Scheduling

    /// True while the launcher is doing something of its own (not asking, not waiting on the network).
    private var launcherBusy: Bool {
        if awaitingFirst != nil {
            if Date().timeIntervalSince(awaitingSince) < 1 { return true }
            awaitingFirst = nil
        }
        return spawning || (waiting == 0 && asking == nil)
    }

    private func schedule() {
        var step = 0
        while waitForQuiet() {
            lock.lock()
            let enabled = enabledChoices()
            if enabled.isEmpty {
                if queues.values.allSatisfy(\.isEmpty) { idle = true }
                lock.broadcast()
                // Nothing to do until something is held or asked for.
                _ = lock.wait(until: Date().addingTimeInterval(0.05))
                lock.unlock()
                continue
            }
            let pick = strategyBox.choose(enabled, step: step)
            let choice = enabled[pick]
            let fallback = enabled[defaultIndex(enabled)]
            let reordered = choice.id != fallback.id
            let older = reordered ? enabled.filter { $0.age < choice.age } : []
            heldBack.formUnion(older.map(\.event))
            let outOfOrder = reordered || heldBack.contains(choice.event)
            taken.append(Decision(kind: choice.kind, key: choice.key, what: choice.what, reordered: reordered, choices: enabled.count,
                                  event: choice.event, passed: reordered ? older.map(\.event) : nil,
                                  passedWhat: reordered ? older.map(\.what) : nil))
            step += 1
            idle = false
            switch choice.kind {
            case .start:
                asking = nil
                spawning = true
                lock.broadcast()
                lock.unlock()
            case .command:
                // The chat it makes the client send is its consequence: decide again once it is held.
                asking = nil
                (awaitingFirst, awaitingSince) = (choice.node, Date())
                activity += 1
                lock.broadcast()
                lock.unlock()
            case .deliver:
                let held = queues[choice.key]!.removeFirst()
                deliveredOn[held.message.link, default: 0] += 1
                deliveredFrom[choice.key, default: 0] += 1
                activity += 1
                lock.unlock()
                _ = try? held.deliver(outOfOrder).wait()
            }
        }
        lock.withLock {
            finished = true
            lock.broadcast()
        }
    }

    /// What may happen now (under the lock): the head of every queue whose link may carry
    /// messages, and the start the launcher asks for.
    private func enabledChoices() -> [Choice] {
        var out: [Choice] = []
        // Age: the epoch, then the queue's name (stable across runs), never the arrival order within one epoch.
        let keys = queues.keys.sorted()
        let rank = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.element, $0.offset) })
        for key in keys {
            guard let head = queues[key]!.first, mayCarry(head.message.link) else { continue }
            let m = head.message
            let receiver = m.direction == .up ? (above[m.link] ?? m.link) : m.link
            out.append(Choice(kind: .deliver, key: key, node: receiver, age: head.epoch * 1_000_000 + rank[key]!, what: Self.describe(m),
                              ordinal: deliveredFrom[key, default: 0] + 1))
        }
        if let a = asking, !spawning, (!a.settled && (!a.afterJoins || pids.keys.allSatisfy { !servers.contains($0) || hasJoined($0) })) || out.isEmpty {
            out.append(Choice(kind: a.kind, key: a.key, node: a.node, age: Int.max, what: a.what))
        }
        return out
    }

    private func mayCarry(_ link: String) -> Bool {
        guard servers.contains(link), let up = above[link] else { return true }
        return hasJoined(up)
    }

    /// `server` is a root, or its link has carried a message, holds nothing, and the server above has joined.
    private func hasJoined(_ server: String) -> Bool {
        if joined.contains(server) { return true }
        if let up = above[server] {
            guard hasJoined(up), deliveredOn[server, default: 0] > 0,
                  !queues.contains(where: { $0.value.first?.message.link == server }) else { return false }
        }
        joined.insert(server)
        return true
    }

    static func describe(_ m: HeldMessage) -> String {
        let arrow = m.direction == .up ? "up" : "down"
        switch m.event {
        case .message(let message): return "\(CRCCluster.describe(message)) \(arrow) the link of \(m.link)"
        case .undecodable: return "bytes that are not CRC \(arrow) the link of \(m.link)"
        case .closed: return "the close of the link of \(m.link) (\(arrow))"
        }
    }

    /// Waits until the launcher asks or waits, every node's threads sleep, and nothing has moved
    /// on the relays for the quiet window; false once released.
    private func waitForQuiet() -> Bool {
        let window = options.quietMilliseconds / 1000
        while true {
            lock.lock()
            if released { lock.unlock(); return false }
            let before = activity, busy = launcherBusy, watched = Array(pids.values)
            lock.unlock()
            if busy || !Quiescence.allAsleep(watched) {
                Thread.sleep(forTimeInterval: 0.0005)
                continue
            }
            Thread.sleep(forTimeInterval: window)
            lock.lock()
            let moved = activity != before || launcherBusy || released
            lock.unlock()
            if !moved, Quiescence.allAsleep(watched) { return !released }
        }
    }
}

/// Whether processes are idle, from /proc: every thread of each is asleep (state S, or gone),
/// none running or in an uninterruptible wait — the state of a process blocked in poll,
/// epoll_wait or select with nothing to do.
enum Quiescence {
    static func allAsleep(_ pids: [Int32]) -> Bool {
        for pid in pids where !asleep(pid) { return false }
        return true
    }

    static func asleep(_ pid: Int32) -> Bool {
        let dir = "/proc/\(pid)/task"
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return true }  // gone
        for t in tasks {
            guard let stat = try? String(contentsOfFile: "\(dir)/\(t)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let state = stat[stat.index(close, offsetBy: 2)...].first
            if state == "R" || state == "D" { return false }
        }
        return true
    }
}
