import CRCCore
import Foundation
import CRCProcess
import CRCContract

/// Stopping a network in reverse order, leaving nothing behind, and merging its logs.
extension ClusterRun {
    // MARK: Teardown

    /// Stops every node in reverse order: all clients first, then servers level by level from the
    /// leaves up to the root (the nodes of one level in parallel). SIGTERM (clients: end of input,
    /// which makes them quit), then SIGKILL after `grace`. Returns each node's exit, in launch order.
    public func teardown(grace: TimeInterval = 2, force: Bool = false) -> [ExitRecord] {
        options.gate?.release()
        let order = nodes.launchOrder
        var names: [String] = []
        for n in order where !names.contains(n) { names.append(n) }
        let depths = topology.depths
        func depth(_ server: String) -> Int { depths[server] ?? 0 }
        // Clients first: each leaves (hosts end their input, so all their clients quit).
        let own = names.compactMap { clients[$0] }.filter { !$0.hosted }.map(\.process)
        var waves: [[NodeProcess]] = [own + clientHosts]
        let started = nodes.latest
        let byDepth = Dictionary(grouping: names.filter { topology.server(named: $0) != nil }, by: depth)
        for d in byDepth.keys.sorted(by: >) { waves.append(byDepth[d]!.compactMap { started[$0] }) }
        var slowest = 0.0
        let teardownStart = Date()
        for wave in waves {
            let waveStart = Date()
            defer { slowest = max(slowest, Date().timeIntervalSince(waveStart)) }
            let running = wave.filter(\.isRunning)
            for p in running {
                if force { p.signal(SIGKILL) } else if clients[p.name] != nil || clientHosts.contains(where: { $0 === p }) { p.closeStdin() } else { p.signal(SIGTERM) }
            }
            let deadline = Date().addingTimeInterval(force ? 5 : grace)
            for p in running { _ = p.waitForExit(timeout: max(0, deadline.timeIntervalSinceNow)) }
            for p in running where p.isRunning { p.signal(SIGKILL) }
            for p in running { _ = p.waitForExit(timeout: 5) }
        }
        // (Whatever a node started in its own process group went with it when it was reaped.)
        lastTeardown = (Date().timeIntervalSince(teardownStart), waves.count, slowest)
        // And whatever left its group (setsid, double fork): every process tagged with this run.
        leftoversKilled = ChildReaper.killTagged(runID)
        faults.close()
        writeTimeline()
        writePaths()
        writeWire()
        // One line per node of the topology: how it ended, or that it never started.
        let everyNode = topology.servers.map(\.name) + topology.clients.map(\.name)
        return (names + everyNode.filter { !names.contains($0) }).map { name in
            if let c = clients[name] {
                return ExitRecord(node: name, pid: c.pid, status: c.exitStatus?.description ?? "running")
            }
            if let p = started[name] {
                return ExitRecord(node: name, pid: p.pid, status: p.exitStatus?.description ?? "running")
            }
            return ExitRecord(node: name, pid: 0, status: "not started")
        }
    }

    /// Merges every node's JSON log into one time-ordered file, `timeline.log`. Works on bytes: a
    /// large network's logs hold millions of lines.
    public func writeTimeline() {
        var entries: [(ts: Double, node: Int, line: ArraySlice<UInt8>)] = []
        var nodes: [[UInt8]] = []
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: runDir.path)) ?? []).sorted()
        let key = Array("\"ts\":\"".utf8)
        for f in files where f.hasSuffix(".log") && f != "timeline.log" {
            guard let data = FileManager.default.contents(atPath: runDir.appendingPathComponent(f).path) else { continue }
            let bytes = [UInt8](data)
            nodes.append(Array(f.dropLast(4).utf8))
            let node = nodes.count - 1
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
                let line = bytes[start..<end]
                var ts = 0.0
                if let valueStart = Self.end(of: key, in: line),
                   let q = line[valueStart...].firstIndex(of: UInt8(ascii: "\"")) {
                    ts = parseTimestamp(String(decoding: line[valueStart..<q], as: UTF8.self)) ?? 0
                }
                if !line.isEmpty { entries.append((ts, node, line)) }
                start = end + 1
            }
        }
        entries.sort { $0.ts < $1.ts }
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { $0 + $1.line.count + 24 })
        for e in entries {
            out += nodes[e.node]
            out.append(0x09)
            out += e.line
            out.append(0x0A)
        }
        FileManager.default.createFile(atPath: runDir.appendingPathComponent("timeline.log").path, contents: Data(out))
    }

    /// `paths.txt`: every chat of the run, the path the tree prescribes and the path the servers'
    /// routing events show, by name, with "DIFFERS" where they part.
    public func writePaths() {
        guard !history.chats.isEmpty else { return }
        var observed = ObservedPaths()
        for (server, e) in loggedRouting(of: [.chat]) {
            guard let src = e.id("source"), let dst = e.id("destination"), let next = e.id("next_hop") else { continue }
            observed.record(server: server, source: src, destination: dst, nextHop: next)
        }
        var out = "# Every chat of this run: the path the tree prescribes, and the one it took (on the wire when tapped, else as the servers logged it).\n"
        for (i, chat) in history.chats.enumerated() {
            out += "chat \(i + 1): \(chat.from) → \(chat.to) \"\(chat.text)\"\n  expected  \(chat.expectedPath)\n"
            if case .delivered = chat.outcome {
                // From the wire when the links were tapped (every implementation), else from our servers' routing events.
                let hops = hops(of: chat, from: 0)
                let seen = hops.isEmpty ? observed.path(of: chat, in: topology) : ([hops[0].from] + hops.map(\.to)).joined(separator: " → ")
                out += "  observed  \(seen)\(seen == chat.expectedPath ? "" : "   DIFFERS")\n"
            }
        }
        FileManager.default.createFile(atPath: runDir.appendingPathComponent("paths.txt").path, contents: Data(out.utf8))
    }

    /// A line for each process whose output went past its sandbox's cap (the rest was dropped).
    public func outputNotes() -> [String] {
        nodes.all.compactMap { p in
            let d = p.droppedOutput
            guard d.stdout + d.stderr > 0 else { return nil }
            func size(_ b: Int) -> String { b >= 1 << 20 ? "\(b >> 20) MiB" : b >= 1 << 10 ? "\(b >> 10) KiB" : "\(b) bytes" }
            let parts = [d.stdout > 0 ? "\(size(d.stdout)) of stdout" : nil, d.stderr > 0 ? "\(size(d.stderr)) of stderr" : nil].compactMap { $0 }
            return "\(p.name) printed more than crc-cluster keeps: \(parts.joined(separator: " and ")) dropped"
        }
    }
}
