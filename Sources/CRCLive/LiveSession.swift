import CRCCluster
import CRCContract
import Foundation
import NIOConcurrencyHelpers

/// A running network as the pages see it: what the taps record, what the console says, the
/// network's state after each change; and the commands presenters send, carried out by the same
/// `ConsoleExecutor` as the terminal's.
///
/// The stream: messages are batched for 5 ms and sent as one WebSocket frame. Up to
/// `rate` messages a second go out one by one (bursts of `burst`); beyond that, and to a page whose
/// socket is full, a batch's surplus goes as counts per link (`coalesced`), so a page never falls
/// behind the network, it sees less detail.
public final class LiveSession: Sendable {
    public static let rate = 2000.0
    public static let burst = 200.0
    static let batchWindow = 0.005
    /// What a page that opens late is sent of what already happened.
    static let backlog = 2000

    let run: ClusterRun
    private let links: WireChecker.Links
    private let executor = NIOLockedValueBox<ConsoleExecutor?>(nil)
    private let commands = DispatchQueue(label: "crc-live-commands")
    private let flushQueue = DispatchQueue(label: "crc-live-stream")

    private struct Stream {
        var viewers: [ObjectIdentifier: Viewer] = [:]
        var pending: [(json: String, from: String, to: String)] = []
        var flushScheduled = false
        var budget = StreamBudget(rate: LiveSession.rate, burst: LiveSession.burst, now: DispatchTime.now().uptimeNanoseconds)
        var seq = 0
        var sent = 0
        var coalesced = 0
        /// The last messages, for a page that opens later.
        var recent: [String] = []
    }
    private let stream = NIOLockedValueBox(Stream())
    private let subscription = NIOLockedValueBox<Int?>(nil)

    public init(run: ClusterRun) {
        self.run = run
        self.links = WireChecker.Links(topology: run.topology)
        if let wire = run.wire {
            let key = wire.subscribe { [weak self] record in self?.tapped(record) }
            subscription.withLockedValue { $0 = key }
        }
    }

    /// The executor pages' commands go to (the terminal's own), and how a page's command is echoed
    /// before it runs (by default to the pages only; `up` prints it at the terminal, which mirrors it).
    public func attach(_ executor: ConsoleExecutor, echo: (@Sendable (String) -> Void)? = nil) {
        self.executor.withLockedValue { $0 = executor }
        self.echo.withLockedValue { $0 = echo }
    }
    private let echo = NIOLockedValueBox<(@Sendable (String) -> Void)?>(nil)

    public func close() {
        if let key = subscription.withLockedValue({ $0 }) { run.wire?.unsubscribe(key) }
    }

    /// How many messages were streamed one by one, and how many only as counts.
    public var streamed: (individually: Int, coalesced: Int) { stream.withLockedValue { ($0.sent, $0.coalesced) } }

    // MARK: Messages from the taps

    private func tapped(_ record: WireRecord) {
        let wall = (Date().timeIntervalSince1970 * 1000 * 1000).rounded() / 1000
        let (from, to) = links.ends(WireChecker.Crossing(record.link, record.direction))
        let line = record.jsonLine(from: from, to: to)
        let schedule: Bool = stream.withLockedValue { s in
            s.seq += 1
            // The run's record line, with when it was tapped (ms since 1970) and its place in the run.
            let json = "{\"w\":\(wall),\"seq\":\(s.seq)," + line.dropFirst()
            s.recent.append(json)
            guard !s.viewers.isEmpty else { return false }
            s.pending.append((json, from, to))
            if s.recent.count > 2 * Self.backlog { s.recent.removeFirst(s.recent.count - Self.backlog) }
            guard !s.flushScheduled else { return false }
            s.flushScheduled = true
            return true
        }
        if schedule { flushQueue.asyncAfter(deadline: .now() + Self.batchWindow) { self.flush() } }
    }

    private func flush() {
        let (viewers, individual, surplus) = stream.withLockedValue { s -> ([Viewer], [(json: String, from: String, to: String)], [String: Int]) in
            s.flushScheduled = false
            let take = s.budget.take(s.pending.count, now: DispatchTime.now().uptimeNanoseconds)
            var surplus: [String: Int] = [:]
            for p in s.pending[take...] { surplus["\(p.from)\u{1}\(p.to)", default: 0] += 1 }
            let individual = Array(s.pending.prefix(take))
            s.sent += take
            s.coalesced += s.pending.count - take
            s.pending.removeAll(keepingCapacity: true)
            return (Array(s.viewers.values), individual, surplus)
        }
        guard !viewers.isEmpty else { return }
        let batch = individual.isEmpty ? nil : "{\"k\":\"msgs\",\"m\":[" + individual.map(\.json).joined(separator: ",") + "]}"
        func counts(_ extra: [String: Int]) -> String? {
            guard !extra.isEmpty else { return nil }
            let items = extra.sorted { $0.key < $1.key }.map { key, n -> JSONValue in
                let ends = key.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
                return .object(["from": .string(ends[0]), "to": .string(ends.count > 1 ? ends[1] : ""), "n": .int(n)])
            }
            return JSONValue.object(["k": .string("coalesced"), "w": .double(Date().timeIntervalSince1970 * 1000), "links": .array(items)]).text
        }
        let summary = counts(surplus)
        var all: [String: Int]?
        for v in viewers {
            if v.keepsUp {
                if let batch { v.send(batch) }
                if let summary { v.send(summary) }
            } else {
                // Its socket is full: this batch reaches it as counts only.
                if all == nil {
                    var c = surplus
                    for m in individual { c["\(m.from)\u{1}\(m.to)", default: 0] += 1 }
                    all = c
                }
                if let s = counts(all!) { v.send(s) }
            }
        }
    }

    // MARK: Pages

    func join(_ viewer: Viewer) {
        let recent = stream.withLockedValue { s -> [String] in
            s.viewers[viewer.id] = viewer
            return Array(s.recent.suffix(Self.backlog))
        }
        commands.async {
            var hello: [String: JSONValue] = [
                "k": .string("hello"), "mode": .string("live"), "presenter": .bool(viewer.presenter),
                "tapped": .bool(self.run.wire != nil),
            ]
            if let data = try? JSONEncoder().encode(self.run.record(passed: nil)), let rec = JSONValue.parse(data) { hello["run"] = rec }
            hello["network"] = self.network()
            viewer.send(JSONValue.object(hello).text)
            if !recent.isEmpty { viewer.send("{\"k\":\"msgs\",\"backlog\":true,\"m\":[" + recent.joined(separator: ",") + "]}") }
        }
    }

    func leave(_ id: ObjectIdentifier) { _ = stream.withLockedValue { $0.viewers.removeValue(forKey: id) } }

    private func broadcast(_ text: String) {
        for v in stream.withLockedValue({ Array($0.viewers.values) }) { v.send(text) }
    }

    /// What the console says (its lines and narrated events), for every page.
    public func said(_ kind: String, _ text: String) {
        broadcast(JSONValue.object(["k": .string("console"), "kind": .string(kind), "text": .string(text),
                                    "w": .double(Date().timeIntervalSince1970 * 1000)]).text)
    }

    /// Every node's status, the cut and delayed links, and the parts the tree is in now.
    func network() -> JSONValue {
        let read = { () -> JSONValue in
            let model = self.run.model
            var status: [String: JSONValue] = [:]
            for s in self.run.topology.servers { status[s.name] = .string(model.status[s.name].map { "\($0)" } ?? "notStarted") }
            for c in self.run.topology.clients { status[c.name] = .string(model.status[c.name].map { "\($0)" } ?? "notStarted") }
            let parts = self.run.components().map { JSONValue.array($0.map { .string($0) }) }
            let delayed = self.run.delayedLinks.mapValues { JSONValue.int($0) }
            return .object(["k": .string("network"), "status": .object(status), "delayed": .object(delayed),
                            "cut": .array(model.cutLinks.sorted().map { .string($0) }), "parts": .array(parts)])
        }
        // While the nodes start, the launch writes the model: the page draws the whole tree meanwhile.
        guard let executor = executor.withLockedValue({ $0 }) else { return .object(["k": .string("network"), "starting": .bool(true)]) }
        return executor.exclusive(read)
    }

    /// A message from a page: `{"cmd": "kill rivendale"}` (presenters only) or `{"state": "rivendale"}`.
    func received(_ text: String, from viewer: Viewer) {
        guard let message = JSONValue.parse(text) else { return }
        if let node = message["state"]?.stringValue {
            commands.async {
                let answer: String
                do {
                    answer = try self.executor.withLockedValue({ $0 })?.exclusive { try self.run.describeState(of: node) } ?? "the network is still starting"
                } catch { answer = "\(error)" }
                viewer.send(JSONValue.object(["k": .string("state"), "node": .string(node), "text": .string(answer)]).text)
            }
            return
        }
        guard let line = message["cmd"]?.stringValue else { return }
        guard viewer.presenter else {
            viewer.send(JSONValue.object(["k": .string("console"), "kind": .string("error"),
                                          "text": .string("this page is read-only: open the address with the presenter token that crc-cluster printed")]).text)
            return
        }
        let words = line.split(separator: " ")
        if words.first == "exit" {
            viewer.send(JSONValue.object(["k": .string("console"), "kind": .string("error"),
                                          "text": .string("exit stops crc-cluster: type it in its terminal, or press Ctrl-C there")]).text)
            return
        }
        commands.async {
            guard let executor = self.executor.withLockedValue({ $0 }) else { return }
            if let echo = self.echo.withLockedValue({ $0 }) { echo("web> \(line)") } else { self.said("command", "web> \(line)") }
            _ = executor.execute(line)
            self.broadcast(self.network().text)
            self.said("done", line)
        }
    }

    /// Tells every page what the network is now (after a change made at the terminal).
    public func networkChanged() { commands.async { self.broadcast(self.network().text) } }
}

extension JSONValue {
    static func parse(_ text: String) -> JSONValue? { parse(Data(text.utf8)) }
    static func parse(_ data: Data) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: data) }
    subscript(key: String) -> JSONValue? { if case .object(let o) = self { o[key] } else { nil } }
}

/// How many messages a batch may stream one by one: a token bucket of `rate` a second holding at
/// most `burst`. Pure: the caller gives the time.
public struct StreamBudget: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: UInt64

    public init(rate: Double, burst: Double, now: UInt64) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        last = now
    }

    /// Of `wanted` messages at `now` (nanoseconds), how many go one by one; the rest go as counts.
    public mutating func take(_ wanted: Int, now: UInt64) -> Int {
        if now > last { tokens = min(burst, tokens + Double(now - last) / 1e9 * rate) }
        last = max(last, now)
        let n = min(wanted, Int(tokens))
        tokens -= Double(n)
        return n
    }
}
