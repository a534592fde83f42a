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
        let deadline = Date().addingTimeInterval(within ?? options.settleTimeout)
        var diffs: [Difference] = []
        var pause: UInt32 = 1_000
        var round = 0
        repeat {
            let t0 = Date()
            diffs = compare(final: final)
            round += 1
            options.onPhase?(String(format: "check round %d: %d differences (%.2f s)", round, diffs.count, Date().timeIntervalSince(t0)))
            if diffs.isEmpty {
                if let last = stepMarks.indices.last, stepMarks[last].converged == nil { stepMarks[last].converged = now }
                return []
            }
            // A crash will not heal, and what cannot be observed will not become observable.
            if diffs.contains(where: { $0.field == .process || $0.field == .unobservable }) { return diffs }
            if options.interrupted?() == true { return diffs }
            // Poll again soon, then less often: settling usually takes a few milliseconds, and every
            // poll costs the nodes work too.
            usleep(pause)
            pause = min(pause * 2, 25_000)
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

        let records = wire?.all ?? []
        // Computed once per round for every server observed from the wire (the course's echoes).
        lazy var echoes = WireChecker.tolerated(links: links, records: records)
        for name in model.liveServers {
            guard let want = model.expectedServer(name), let node = servers[name] else { continue }
            guard let port = node.monitorPort else {
                if node.attached {
                    // Attached without a monitoring port: its clients (crc-cluster's observer among
                    // them) are checked; a hand-written expectation of its table cannot be.
                    if final, let e = topology.expect[name], e.hosts != nil || e.adjacentServers != nil || e.adjacentClients != nil || e.statusLog != nil {
                        diffs.append(Difference(node: name, field: .unobservable,
                                                detail: "cannot be checked: its expectations need its state, and it has no monitor port (add monitor: PORT and run it with --monitor-port)"))
                    }
                    continue
                }
                if wire != nil {
                    // Another implementation: its table as the wire implies it.
                    let observed = WireChecker.observeServer(name, links: links, records: records, profile: options.wireProfile, echoes: echoes)
                    diffs += ConvergenceChecker.diff(server: name, expected: want, firstMessages: model.expectedFirstMessages(name),
                                                     override: final ? topology.expect[name] : nil,
                                                     handWrittenFirstMessages: final ? topology.firstMessages[name] : nil,
                                                     observed: observed)
                    continue
                }
                // Never a silent pass: what cannot be observed fails, and says why.
                diffs.append(Difference(node: name, field: .unobservable,
                                        detail: "cannot be checked: this server has no /state endpoint (its ready line gave no monitor_port), so its hosts, links and status log cannot be read; tap its links (--tap) to check it from the wire"))
                continue
            }
            let override = final ? topology.expect[name] : nil
            // The digest first; the whole state only when something differs (to say what).
            if override == nil || (override?.hosts == nil && override?.adjacentServers == nil && override?.adjacentClients == nil && override?.statusLog == nil),
               !(final && topology.firstMessages[name] != nil),
               let d = try? MonitorClient.fetchDigest(host: node.host, port: port),
               d.hosts == want.hosts.count, d.hostsDigest == hostsDigest(want.hosts.map { ($0.key, $0.value) }),
               Set(d.adjacentServers) == want.adjacentServers, Set(d.adjacentClients) == want.adjacentClients,
               d.statusLog == want.statusLog, d.firstMessages == model.expectedFirstMessages(name).sorted() {
                continue
            }
            let state: ServerSnapshot
            do { state = try MonitorClient.fetchState(host: node.host, port: port) } catch {
                diffs.append(Difference(node: name, field: .state, detail: "cannot read /state: \(error)"))
                continue
            }
            let firsts = state.links.filter { $0.direction == "inbound" && $0.peerKind == "server" }.compactMap(\.firstMessageHex)
            let observed = ConvergenceChecker.ServerObservation(
                hosts: Dictionary(state.hosts.map { ($0.id, $0.firstLink) }, uniquingKeysWith: { a, _ in a }),
                adjacentServers: Set(state.adjacentServers), adjacentClients: Set(state.adjacentClients),
                statusLog: state.statusLog, firstMessages: firsts)
            diffs += ConvergenceChecker.diff(server: name, expected: want, firstMessages: model.expectedFirstMessages(name),
                                             override: override, handWrittenFirstMessages: final ? topology.firstMessages[name] : nil,
                                             observed: observed)
        }

        if !diffs.isEmpty, !everything { return diffs }  // clients learn from servers: ask them once servers agree
        // Ask every live client for a digest of its state at once, then read the answers; a client
        // whose digest differs is asked for its whole state, to say exactly what differs.
        var marks: [String: Int] = [:]
        for c in topology.clients where model.status[c.name] == .live && c.command == nil {
            guard let p = clients[c.name] else { continue }
            marks[c.name] = p.mark
            p.send("digest")
        }
        for c in topology.clients {
            guard var want = model.expectedClient(c.name), let p = clients[c.name] else { continue }
            let override = final ? topology.expect[c.name] : nil
            if let u = override?.users { want.users = Set(u) }
            if let s = override?.statusLog { want.statusLog = s }
            if let l = override?.chatLog { want.chatLog = l }
            let got: (users: Set<UInt32>, status: [String], chats: [String])
            if c.command != nil {
                // Another implementation: what its server sent it.
                let o = WireChecker.observeClient(c.name, links: links, records: records)
                got = (model.status[c.name] == .refused ? [] : o.users, o.statusLog, o.chatLog)
            } else if model.status[c.name] == .refused {
                let events = p.events
                got = ([], events.filter { $0["event"] as? String == "refused" }.compactMap { $0["text"] as? String }, [])
            } else {
                guard let event = p.waitForEvent("digest", from: marks[c.name] ?? 0, timeout: 5) else {
                    diffs.append(Difference(node: c.name, field: .state, detail: "no answer to the digest command"))
                    continue
                }
                guard let d = ClientEndpoint.decode(ClientDigest.self, from: event) else {
                    diffs.append(Difference(node: c.name, field: .state, detail: "its digest does not follow the contract (ClientDigest): \(event)"))
                    continue
                }
                if d.users == want.users.count, d.usersDigest == usersDigest(want.users),
                   d.chatLog.map(\.text) == want.chatLog, d.statusLog == want.statusLog {
                    continue
                }
                let mark = p.mark
                p.send("state")
                guard let stateEvent = p.waitForEvent("state", from: mark, timeout: 5) else {
                    diffs.append(Difference(node: c.name, field: .state, detail: "no answer to the state command"))
                    continue
                }
                guard let s = ClientEndpoint.decode(ClientStateReport.self, from: stateEvent) else {
                    diffs.append(Difference(node: c.name, field: .state, detail: "its state does not follow the contract (ClientStateReport): \(stateEvent)"))
                    continue
                }
                got = (Set(s.users.map(\.id)), s.statusLog, s.chatLog.map(\.text))
            }
            diffs += ConvergenceChecker.diff(client: c.name, expected: want,
                                             observed: .init(users: got.users, statusLog: got.status, chatLog: got.chats))
        }
        // What went wrong on the wire (a wrong hop, a lost quit) names the cause of the state
        // differences it leads to: it comes first.
        if diffs.isEmpty || everything { diffs = checkPaths() + diffs }
        return diffs
    }

    /// Every chat must appear in the logs of exactly the servers on its tree path, each with the
    /// right next hop; unknown destinations must be answered by the sender's server.
    func checkPaths() -> [Difference] {
        if let wire {
            // Only tapped links are judged (attached, crc-cluster taps its own clients' links only).
            return WireChecker.check(links: links, records: wire.all, chats: chats, quits: quits,
                                     required: model.requiredRegistrations().filter { relayedLinks.contains($0.key.link) },
                                     tapped: relayedLinks, profile: options.wireProfile)
        }
        var counted: [ChatFlow: Int] = [:]
        var unknown: [ChatFlow: Int] = [:]
        let needle = Array("\"event\":\"chat".utf8)
        for (name, node) in servers {
            guard let data = FileManager.default.contents(atPath: node.logFile.path) else { continue }
            for line in Self.lines(containing: needle, in: [UInt8](data)) {
                guard let o = NodeProcess.parseJSON(line), let src = o["source"] as? Int, let dst = o["destination"] as? Int else { continue }
                if o["event"] as? String == "chat", let next = o["next_hop"] as? Int {
                    counted[ChatFlow(server: name, source: UInt32(src), destination: UInt32(dst), nextHop: UInt32(next)), default: 0] += 1
                } else if o["event"] as? String == "chat_unknown_destination" {
                    // A repeated answer is summarised: one line with the count of the others.
                    unknown[ChatFlow(server: name, source: UInt32(src), destination: UInt32(dst)), default: 0] += (o["count"] as? Int) ?? 1
                }
            }
        }
        var diffs: [Difference] = []
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
    public func tail(of p: NodeProcess, node: String? = nil, lines: Int = 8) -> String {
        let name = node ?? p.name
        var out = p.stderrLines.suffix(lines).map { "    \(name) stderr: \($0)" }
        if let text = try? String(contentsOf: logFile(name), encoding: .utf8) {
            out += text.split(separator: "\n").suffix(lines).map { "    \(name) log: \($0)" }
        }
        return out.joined(separator: "\n")
    }

}
