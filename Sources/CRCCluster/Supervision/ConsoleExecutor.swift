import CRCProtocol
import CRCProcess
import Foundation

/// Where the console's answers go: a terminal (above the prompt), a pipe, or a page.
public protocol ConsoleOutput: Sendable {
    func line(_ text: String)
    /// A narrated event (joins, chats, faults, convergence).
    func event(_ kind: Narration.Kind, _ text: String)
}

/// Carries out console commands on the running network, one at a time.
public final class ConsoleExecutor: @unchecked Sendable {  // commands run one at a time, under `busy`
    public let run: ClusterRun
    let out: any ConsoleOutput
    /// Held while a command changes or reads the network (`exclusive`, `tryExclusive`).
    private let busy = NSLock()
    var watching = false
    /// How `watch` says links are not tapped: what the caller's options for tapping are.
    let tapHint: String

    public init(run: ClusterRun, out: any ConsoleOutput, tapHint: String = "run with the links tapped") {
        self.run = run
        self.out = out
        self.tapHint = tapHint
    }

    /// `body` with the network to itself: no command runs meanwhile.
    public func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        busy.lock()
        defer { busy.unlock() }
        return try body()
    }

    /// `body` with the network to itself, or nil at once when a command is running.
    public func tryExclusive<T>(_ body: () throws -> T) rethrows -> T? {
        guard busy.try() else { return nil }
        defer { busy.unlock() }
        return try body()
    }

    var topology: Topology { run.topology }

    /// Runs one line; false when it asks to leave.
    public func execute(_ line: String) -> Bool {
        let command: ConsoleCommand?
        do { command = try ConsoleCommand.parse(line) } catch {
            out.line("  \(error)")
            return true
        }
        guard let command else { return true }
        busy.lock()
        defer { busy.unlock() }
        do {
            switch command {
            case .exit: return false
            case .help: out.line(ConsoleCommand.usage)
            case .tree: run.treeLines().forEach(out.line)
            case .nodes: nodes()
            case .state(let n):
                try requireNode(n)
                out.line(try run.describeState(of: n))
            case .chat(let from, let to, let text): try run(.chat(from: from, to: to, text: text))
            case .path(let from, let to): try path(from: from, to: to)
            case .step(let step): try run(step)
            case .watch(let on): try watch(on)
            }
        } catch {
            out.line("  \(error)")
        }
        return true
    }

    func requireNode(_ n: String) throws {
        guard topology.server(named: n) != nil || topology.client(named: n) != nil else {
            let names = (topology.servers.map(\.name) + topology.clients.map(\.name)).joined(separator: ", ")
            throw ClusterError("no node named '\(n)' (nodes: \(names))")
        }
    }

    func nodes() {
        out.line("NODE                 KIND    ID          PID      PORT   STATUS")
        for s in topology.servers {
            let node = run.servers[s.name]
            let status = "\(run.model.status[s.name].map { "\($0)" } ?? "?")\(s.program == .ours ? "" : " (\(s.program.note))")"
            out.line(s.name.padded(20) + " server  " + "\(s.id)".padded(11) + " " + "\(node?.process.pid ?? 0)".padded(8) + " "
                     + "\(node?.port ?? 0)".padded(6) + " " + status)
        }
        for c in topology.clients {
            let status = run.model.status[c.name].map { "\($0)" } ?? "?"
            out.line(c.name.padded(20) + " client  " + "\(c.id)".padded(11) + " " + "\(run.clients[c.name]?.pid ?? 0)".padded(8) + " "
                     + "-".padded(6) + " " + status + " (on \(c.server))")
        }
    }

    /// Waits for the network to converge again and says how long it took, or what differs.
    @discardableResult
    public func converge(after what: String, since t0: Date) -> Bool {
        let diffs = run.check()
        let ms = Date().timeIntervalSince(t0) * 1000
        if diffs.isEmpty {
            out.event(.convergence, String(format: "converged %.1f ms after %@", ms, what))
            return true
        }
        out.event(.faults, String(format: "NOT converged %.0f ms after %@; %d differences:", ms, what, diffs.count))
        for d in diffs.prefix(12) { out.line("    \(d)") }
        return false
    }

    /// One step of a scenario, the one way the console's commands and `--play` carry it out: a
    /// chat shows the hops it took, a settle waits for convergence, any other step shows what
    /// each side of the tree learned or forgot. The caller has the network to itself (`exclusive`).
    public func run(_ step: Step) throws {
        switch step {
        case .chat(let from, let to, let text): try chat(from: from, to: to, text: text)
        case .settle: converge(after: "settle", since: Date())
        default: try perform(step)
        }
    }

    func chat(from: String, to: String, text: String) throws {
        guard let sender = topology.client(named: from) else { throw ClusterError("'\(from)' is not a client") }
        guard UInt32(to) != nil || topology.client(named: to) != nil else {
            throw ClusterError("no client named '\(to)' (give a client's name or any id)")
        }
        let mark = run.wire?.count ?? 0
        let t0 = Date()
        try run.perform(.chat(from: from, to: to, text: text))
        let ok = converge(after: "the chat", since: t0)
        guard let record = run.chatRecords.last, record.from == sender.name else { return }
        let hops = run.hops(of: record, from: mark)
        if case .unknownDestination(let server) = record.outcome {
            let answers = run.answers(to: record, from: mark)
            out.line("  \(from) → \(server): id \(record.destinationID) is unknown; \(server) answered \(answers.map { "\"\($0)\"" }.joined(separator: ", ").orNone)")
            return
        }
        if hops.isEmpty {
            out.line("  expected path: \(record.expectedPath) (links are not tapped: no hop-by-hop view; see paths.txt)")
            return
        }
        let observed = ([hops[0].from] + hops.map(\.to)).joined(separator: " → ")
        let total = (hops.last!.time - hops[0].time) * 1000
        out.line("  \(observed)   (\(hops.count) hops, \(String(format: "%.2f", total)) ms)")
        for h in hops {
            out.line(String(format: "    +%7.3f ms  %@ → %@", (h.time - hops[0].time) * 1000, h.from, h.to))
        }
        if observed != record.expectedPath || !ok {
            out.line("  expected: \(record.expectedPath)\(observed == record.expectedPath ? "" : "   DIFFERS")")
        }
    }

    func path(from: String, to: String) throws {
        try requireNode(from)
        try requireNode(to)
        func server(of n: String) -> String { topology.client(named: n)?.server ?? n }
        let a = server(of: from), b = server(of: to)
        guard run.model.isLive(a), run.model.isLive(b) else {
            throw ClusterError("no path: \(run.model.isLive(a) ? b : a) is not running")
        }
        let servers = run.model.serverPath(from: a, to: b)
        guard !servers.isEmpty else {
            out.line("  no path: \(from) and \(to) are in different parts of the network (a netsplit)")
            return
        }
        var names = servers
        if topology.client(named: from) != nil { names.insert(from, at: 0) }
        if topology.client(named: to) != nil { names.append(to) }
        out.line("  \(names.joined(separator: " → "))   (\(names.count - 1) hop\(names.count == 2 ? "" : "s"), the tree's path; nothing sent)")
    }

    func perform(_ step: Step) throws {
        switch step {
        case .start(let n), .stop(let n), .kill(let n), .restart(let n), .cut(let n), .heal(let n), .delay(let n, _): try requireNode(n)
        case .quit(let c, _): guard topology.client(named: c) != nil else { throw ClusterError("'\(c)' is not a client") }
        default: break
        }
        let before = run.knowledge()
        let partsBefore = run.components().count
        let t0 = Date()
        out.event(step.faultedLink != nil || { if case .kill = step { return true }; if case .stop = step { return true }; return false }() ? .faults : .joins,
                  step.summary)
        try run.perform(step)
        converge(after: step.summary, since: t0)
        // What each part of the tree now knows, against what it knew.
        let after = run.knowledge()
        let parts = run.components()
        if parts.count != partsBefore {
            out.line("  the network is now \(parts.count) tree\(parts.count == 1 ? "" : "s")\(parts.count > partsBefore ? " (a netsplit)" : " (rejoined)")")
        }
        for part in parts {
            let rep = part[0]
            let now = after[rep] ?? [], then = before[rep] ?? []
            let clients = topology.clients.filter { run.model.isLive($0.name) && part.contains($0.server) }.count
            let forgot = then.subtracting(now).sorted().map(run.label)
            let learned = now.subtracting(then).sorted().map(run.label)
            var line = "  side of \(rep) (\(part.count) server\(part.count == 1 ? "" : "s"), \(clients) client\(clients == 1 ? "" : "s"))"
            if forgot.isEmpty && learned.isEmpty && parts.count == partsBefore { continue }
            if !forgot.isEmpty { line += ": forgot \(Self.list(forgot))" }
            if !learned.isEmpty { line += "\(forgot.isEmpty ? ":" : ";") learned \(Self.list(learned))" }
            if forgot.isEmpty && learned.isEmpty { line += ": knows the same as before" }
            out.line(line)
        }
    }

    static func list(_ names: [String]) -> String {
        names.count <= 10 ? names.joined(separator: ", ") : names.prefix(10).joined(separator: ", ") + " and \(names.count - 10) more"
    }

    func watch(_ on: Bool) throws {
        guard let wire = run.wire else {
            throw ClusterError("watch needs the links tapped (\(tapHint))")
        }
        watching = on
        if on {
            let links = WireChecker.Links(topology: topology)
            let out = self.out
            wire.observe { r in
                let (from, to) = links.ends(WireChecker.Crossing(r.link, r.direction))
                switch r.event {
                case .message(let m): out.line(String(format: "  watch %8.3f s  ", r.time) + "\(from) → \(to)  \(describe(m))")
                case .closed: out.line(String(format: "  watch %8.3f s  ", r.time) + "link \(r.link) closed")
                case .undecodable(let why): out.line(String(format: "  watch %8.3f s  ", r.time) + "\(from) → \(to)  not CRC: \(why)")
                }
            }
            out.line("  watching every message on every link (watch off to stop)")
        } else {
            wire.observe(nil)
            out.line("  watch off")
        }
    }
}

extension ClusterRun {
/// The tree as it is now: servers with their clients, ids, ports and pids.
public func treeLines() -> [String] {
    let run = self
    let t = run.topology
    var out: [String] = []
    func describe(_ name: String) -> String {
        let spec = t.server(named: name)!
        guard let s = run.servers[name] else { return "\(name) (id \(spec.id))" }
        var text = "\(name) (id \(spec.id), port \(s.port), pid \(s.process.pid)"
        if let m = s.monitorPort { text += ", monitor \(m)" }
        if spec.program != .ours { text += ", \(spec.program.note)" }
        return text + ")"
    }
    func walk(_ name: String, _ indent: String, _ last: Bool, _ root: Bool) {
        out.append(indent + (root ? "" : (last ? "└─ " : "├─ ")) + describe(name))
        let childIndent = indent + (root ? "" : (last ? "   " : "│  "))
        for c in t.clients where c.server == name && run.model.isLive(c.name) {
            out.append(childIndent + "· client \(c.name) (id \(c.id), pid \(run.clients[c.name]?.pid ?? 0))")
        }
        for c in t.clients where c.server == name && run.model.status[c.name] == .refused {
            out.append(childIndent + "✗ client \(c.name) (id \(c.id)): refused, its id is taken")
        }
        let children = t.servers.filter { $0.upstream == name && run.model.isLive($0.name) }
        for s in t.servers where s.upstream == name && run.model.status[s.name] == .refused {
            out.append(childIndent + "✗ \(s.name) (id \(s.id)): refused, its id is taken")
        }
        for (i, c) in children.enumerated() { walk(c.name, childIndent, i == children.count - 1, false) }
    }
    for root in t.servers where run.model.isLive(root.name) && (root.upstream == nil || !run.model.isLive(root.upstream!) || run.model.cutLinks.contains(root.name)) {
        walk(root.name, "", true, true)
    }
    let down = t.servers.filter { s in [.stopped, .killed, .disconnected].contains(run.model.status[s.name]) }.map(\.name)
    if !down.isEmpty { out.append("not running: \(down.joined(separator: ", "))") }
    return out
}
}
