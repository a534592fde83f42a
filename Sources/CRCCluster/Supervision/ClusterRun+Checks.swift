import CRCCore
import CSystemShims
import Foundation
import CRCProcess
import CRCContract

/// Checking a running network: poll observations until they match the model (the comparing
/// itself is `ConvergenceChecker`'s), and audit the path of every chat in the servers' logs.
extension ClusterRun {
    // MARK: Checking

    /// Polls until the network matches the model (and, with `final`, the hand-written
    /// expectations), or the deadline passes; returns what still differs.
    public func check(final: Bool = false, within: TimeInterval? = nil) -> [Difference] {
        guard let gate = options.gate else { return checkConverging(final: final, within: within) }
        // Under a gate, the state is compared once the gate has passed everything on and the
        // network is quiet: what the schedule led to, not a moment on the way.
        return gate.whileWaiting {
            let t0 = Date(), limit = within ?? options.settleTimeout
            let quiet = gate.awaitIdle(until: t0.addingTimeInterval(limit))
            judgeRacedChats()
            // Quiet, the network will not move again before the next step: a second is enough
            // for what the nodes report (their output) to catch up.
            let left = limit - Date().timeIntervalSince(t0)
            return checkConverging(final: final, within: quiet ? min(1, max(left, 0.1)) : max(left, 0.1))
        }
    }

    /// A chat sent before the network settled that reached its sender's server before the
    /// destination's registration did met "Unknown ID", rightly: the model and the routing
    /// audit expect that instead (read from the wire, once everything has been delivered).
    private func judgeRacedChats() {
        guard let wire else { return }
        let records = wire.all
        for (i, chat) in history.chats.enumerated() where chat.raced && !judgedChats.contains(i) {
            judgedChats.insert(i)
            guard case .delivered = chat.outcome, let server = topology.client(named: chat.from)?.server,
                  ChatRaces.destinationKnown(chat, at: server, records: records, topology: topology) == false,
                  let outcome = model.chatMissed(chat) else { continue }
            history.revise(chat: i, to: outcome)
            options.onProgress?("chat \(chat.from) → \(chat.to) reached \(server) before \(chat.to)'s registration did: Unknown ID expected")
        }
    }

    private func checkConverging(final: Bool, within: TimeInterval?) -> [Difference] {
        let started = Date()
        let deadline = started.addingTimeInterval(within ?? options.settleTimeout)
        var diffs: [Difference] = []
        var backoff = Backoff(max: 0.025)
        var round = 0
        repeat {
            let t0 = Date()
            diffs = compare(final: final)
            round += 1
            options.onPhase?(String(format: "check round %d: %d differences (%.2f s)", round, diffs.count, Date().timeIntervalSince(t0)))
            if diffs.isEmpty {
                noteConverged()
                return []
            }
            // A crash will not heal, and what cannot be observed will not become observable.
            if diffs.contains(where: { $0.field == .process || $0.field == .unobservable }) { return diffs }
            if options.interrupted?() == true { return diffs }
            // Poll again soon, then less often: settling usually takes a few milliseconds, and every
            // poll costs the nodes (and the wire's reconstruction here) work too. A difference that
            // has lasted a second is checked five times a second: a failing submission's scenarios
            // wait out the whole deadline, and polling them every 25 ms made grading a class CPU-bound.
            backoff.wait(upTo: Date().timeIntervalSince(started) > 1 ? 0.2 : 0.025)
        } while Date() < deadline
        // The deadline passed: report everything that differs, clients included (while polling,
        // clients are asked only once the servers agree, since they learn from servers).
        if diffs.contains(where: { $0.field != .process && $0.field != .unobservable }) { diffs = compare(final: final, everything: true) }
        return diffs
    }

    func compare(final: Bool, everything: Bool = false) -> [Difference] {
        var diffs: [Difference] = []
        // Nodes the model expects alive must be alive.
        for name in model.liveServers {
            if let p = servers[name]?.process, let status = p.exitStatus {
                diffs.append(Difference(node: name, field: .process, detail: "exited unexpectedly (\(status))\n\(tail(of: p))"))
            }
        }
        for name in model.liveClients {
            if let c = clients[name], let status = c.exitStatus {
                diffs.append(Difference(node: name, field: .process, detail: "exited unexpectedly (\(status))\n\(tail(of: c.process, node: name))"))
            }
        }
        if !diffs.isEmpty { return diffs }

        // Every observer looks, then what it saw is compared with the model.
        let round = observationRound()
        for name in model.liveServers {
            guard let state = model.expectedServer(name), let node = servers[name] else { continue }
            let want = ServerWant(state: state, firstMessages: model.expectedFirstMessages(name),
                                  override: final ? topology.expect[name] : nil,
                                  handWrittenFirstMessages: final ? topology.firstMessages[name] : nil)
            switch node.observer.look(at: name, want: want, round: round) {
            case .matches: continue
            case .failed(let d): diffs.append(d)
            case .observed(let observed, let notes):
                diffs += ConvergenceChecker.diff(server: name, expected: state, firstMessages: want.firstMessages,
                                                 override: want.override, handWrittenFirstMessages: want.handWrittenFirstMessages,
                                                 observed: observed) + notes
            }
        }

        if !diffs.isEmpty, !everything { return diffs }  // clients learn from servers: ask them once servers agree
        // Ask every live client at once, then read the answers.
        var marks: [String: Int] = [:]
        for c in topology.clients where model.status[c.name] == .live {
            guard let endpoint = clients[c.name] else { continue }
            marks[c.name] = endpoint.observer.ask(endpoint)
        }
        for c in topology.clients {
            guard var want = model.expectedClient(c.name), let endpoint = clients[c.name] else { continue }
            if final, let override = topology.expect[c.name] {
                if let u = override.users { want.users = Set(u) }
                if let s = override.statusLog { want.statusLog = s }
                if let l = override.chatLog { want.chatLog = l }
            }
            switch endpoint.observer.look(at: endpoint, refused: model.status[c.name] == .refused, from: marks[c.name] ?? 0,
                                          round: round, want: want) {
            case .matches: continue
            case .failed(let d): diffs.append(d)
            case .observed(let observed, let notes): diffs += ConvergenceChecker.diff(client: c.name, expected: want, observed: observed) + notes
            }
        }
        // What went wrong on the wire (a wrong hop, a lost quit) names the cause of the state
        // differences it leads to: it comes first.
        if diffs.isEmpty || everything { diffs = checkPaths() + diffs }
        return diffs
    }

    /// The routing events (`chat`, `chat_unknown_destination`) our servers logged, by server: what
    /// the path audit and `paths.txt` read when the links were not tapped.
    func loggedRouting(of kinds: Set<NodeEvent.Kind>) -> [(server: String, event: NodeEvent)] {
        topology.servers.flatMap { s -> [(server: String, event: NodeEvent)] in
            guard let data = FileManager.default.contents(atPath: logFile(s.name).path) else { return [] }
            return NodeEvent.events(inLog: [UInt8](data), of: kinds).map { (s.name, $0) }
        }
    }

    /// Every chat must appear in the logs of exactly the servers on its tree path, each with the
    /// right next hop; unknown destinations must be answered by the sender's server.
    func checkPaths() -> [Difference] {
        if let wire {
            // Only tapped links are judged (attached, crc-cluster taps its own clients' links only).
            return WireChecker.check(links: links, records: wire.all, chats: history.chats, quits: history.quits,
                                     required: model.requiredRegistrations().filter { faults.isRelayed($0.key.link) },
                                     tapped: faults.relayedLinks, profile: options.wireProfile)
        }
        var counted: [RunHistory.ChatFlow: Int] = [:]
        var unknown: [RunHistory.ChatFlow: Int] = [:]
        for (name, e) in loggedRouting(of: [.chat, .chatUnknownDestination]) {
            guard let src = e.id("source"), let dst = e.id("destination") else { continue }
            if e.kind == .chat, let next = e.id("next_hop") {
                counted[RunHistory.ChatFlow(server: name, source: src, destination: dst, nextHop: next), default: 0] += 1
            } else if e.kind == .chatUnknownDestination {
                // A repeated answer is summarised: one line with the count of the others.
                unknown[RunHistory.ChatFlow(server: name, source: src, destination: dst), default: 0] += e.int("count") ?? 1
            }
        }
        var diffs: [Difference] = []
        let chatFlows = history.chatFlows, unknownAnswers = history.unknownAnswers
        for f in Set(chatFlows.keys).union(counted.keys).sorted() where chatFlows[f, default: 0] != counted[f, default: 0] {
            diffs.append(Difference(node: f.server, field: .chatPath,
                                    detail: "chat \(f.source) → \(f.destination) with next hop \(f.nextHop) logged \(counted[f, default: 0]) times, expected \(chatFlows[f, default: 0])"))
        }
        for f in Set(unknownAnswers.keys).union(unknown.keys).sorted() where unknownAnswers[f, default: 0] != unknown[f, default: 0] {
            diffs.append(Difference(node: f.server, field: .unknownDestination,
                                    detail: "chat \(f.source) → \(f.destination) answered \(unknown[f, default: 0]) times, expected \(unknownAnswers[f, default: 0])"))
        }
        return diffs
    }

    /// The last lines a node wrote (stderr, then its log file), for failure reports.
    /// What a node said last: its stderr and log's last lines, or, when it printed a Python
    /// traceback, the whole of the last one (a student needs it all).
    public func tail(of p: NodeProcess, node: String? = nil, lines: Int = 8) -> String {
        let name = node ?? p.name
        // An ended process's last lines may still be in the pipe: read them first.
        if p.exitStatus != nil { p.waitForEndOfOutput(timeout: 1) }
        let err = p.stderrLines
        let shown = err.lastIndex(of: "Traceback (most recent call last):").map { err[$0...].prefix(80) } ?? err.suffix(lines)
        var out = shown.map { "    \(name) stderr: \($0)" }
        if let text = try? String(contentsOf: logFile(name), encoding: .utf8) {
            out += text.split(separator: "\n").suffix(lines).map { "    \(name) log: \($0)" }
        }
        return out.joined(separator: "\n")
    }


    /// What every observer of one round of checks shares.
    func observationRound() -> ObservationRound {
        let names = Dictionary(topology.servers.map { ($0.id, $0.name) } + topology.clients.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return ObservationRound(records: wire?.all ?? [], links: links, profile: options.wireProfile,
                                label: { id in names[id].map { "\(id) (\($0))" } ?? "\(id)" })
    }
}
