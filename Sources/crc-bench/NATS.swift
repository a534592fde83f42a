import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
import CRCProcess
#endif

/// The same load through nats-server, the peer the relay is measured against: a raw-socket client
/// of the NATS text protocol (CONNECT, SUB, PUB, MSG, PING/PONG), so both sides are driven by the
/// same kind of load generator. Each message carries the same payload as a CRC chat's text: an
/// 8-byte sequence number, padded to the size asked.
final class NATSClient: BenchLink, @unchecked Sendable {  // used by one thread at a time
    let fd: Int32
    private var pending: [UInt8] = []
    private var start = 0
    private var chunk = [UInt8](repeating: 0, count: 1 << 20)
    static let subject = "bench"

    init(port: Int) throws {
        fd = try BlockingSocket.connect(port: port, noDelay: true)
        _ = try readLine(timeout: 10)  // INFO {...}
        try writeAll(Array("CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false}\r\nPING\r\n".utf8))
        try awaitPong()
    }

    deinit { close(fd) }

    func writeAll(_ bytes: [UInt8]) throws { try writeAllBytes(fd, bytes) }

    private func fill(deadline: UInt64) -> Bool {
        if start > 0, start * 2 > pending.count { pending.removeFirst(start); start = 0 }
        guard monotonicNanos() < deadline else { return false }
        let n = read(fd, &chunk, chunk.count)
        guard n > 0 else { return false }
        pending += chunk[0..<n]
        return true
    }

    private func readLine(timeout: Double) throws -> String {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while true {
            if let nl = pending[start...].firstIndex(of: 0x0A) {
                let line = String(decoding: pending[start..<nl], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                start = nl + 1
                return line
            }
            guard fill(deadline: deadline) else { throw ClusterError("nats: no line within \(timeout) s") }
        }
    }

    private func awaitPong() throws {
        while true {
            let line = try readLine(timeout: 10)
            if line == "PONG" { return }
            if line.hasPrefix("-ERR") { throw ClusterError("nats: \(line)") }
        }
    }

    func subscribe() throws {
        try writeAll(Array("SUB \(Self.subject) 1\r\nPING\r\n".utf8))
        try awaitPong()
    }

    static func encodePublishes(count: Int, size: Int) -> [UInt8] {
        let head = Array("PUB \(subject) \(size)\r\n".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count * (head.count + size + 2))
        for i in 0..<count {
            out += head
            var seq = UInt64(i).bigEndian
            withUnsafeBytes(of: &seq) { out += $0 }
            out += [UInt8](repeating: 0x61, count: size - 8)
            out += [0x0D, 0x0A]
        }
        return out
    }

    /// Counts MSG frames (answering the server's PINGs), checking their sequence numbers' order.
    func receive(count: Int, timeout: Double) -> RawClient.ReceiveResult {
        var r = RawClient.ReceiveResult()
        var expected: UInt64? = nil
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while r.received < count {
            // A whole frame at `start`?
            guard let nl = pending[start...].firstIndex(of: 0x0A) else {
                if !fill(deadline: deadline) { break }
                continue
            }
            let line = pending[start..<nl]
            if line.starts(with: Array("MSG ".utf8)) {
                let fields = line.split(separator: 0x20)
                let length = Int(String(decoding: fields.last!.filter { $0 != 0x0D }, as: UTF8.self)) ?? 0
                let body = nl + 1
                guard pending.count >= body + length + 2 else {
                    if !fill(deadline: deadline) { break }
                    continue
                }
                var seq: UInt64 = 0
                for i in 0..<8 { seq = seq << 8 | UInt64(pending[body + i]) }
                if let e = expected, seq != e { r.outOfOrder += 1 }
                expected = seq + 1
                r.received += 1
                start = body + length + 2
            } else {
                if line.starts(with: Array("PING".utf8)) { try? writeAll(Array("PONG\r\n".utf8)) }
                start = nl + 1
            }
        }
        r.finishedAt = monotonicNanos()
        r.done = true
        return r
    }

    /// How the nats-server nodes are connected.
    enum Topology: String, CaseIterable, ExpressibleByArgument {
        /// One cluster (each node routes to the first; NATS meshes the routes): a message crosses
        /// at most one route, whatever the number of nodes.
        case cluster
        /// A chain of leaf-node connections, node i a leaf of node i-1: a message from the first
        /// node to the last crosses every node, as in a chain of crc-server.
        case chain
    }

    /// `n` nats-server nodes, a publisher on the first and a subscriber on the last, interest
    /// propagated before returning.
    static func network(_ n: Int, topology: Topology, size: Int) throws -> ([NodeProcess], BenchLink, BenchLink, [Int]) {
        guard let exe = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ClusterError("nats-server not found (apt-get install nats-server; scripts/bench.sh installs it)")
        }
        progress("starting \(n) nats-server nodes (\(topology.rawValue))")
        let configDir = FileManager.default.temporaryDirectory.appendingPathComponent("crc-bench-nats-\(getpid())")
        try FileManager.default.createDirectory(at: configDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: configDir) }
        var nodes: [NodeProcess] = []
        var started = false
        defer { if !started { for n in nodes.reversed() { n.stop(grace: 2) } } }
        var ports: [Int] = []
        var firstRoute = 0, previousLeafPort = 0
        for i in 1...n {
            let port = try BlockingSocket.freeLoopbackPort()
            var args = ["-a", "127.0.0.1", "-p", "\(port)", "-n", "n\(i)"]
            switch topology {
            case .cluster where n > 1:
                let cport = try BlockingSocket.freeLoopbackPort()
                if i == 1 { firstRoute = cport }
                args += ["--cluster_name", "bench", "--cluster", "nats://127.0.0.1:\(cport)"]
                if i > 1 { args += ["--routes", "nats://127.0.0.1:\(firstRoute)"] }
            case .chain where n > 1:
                // Leaf nodes have no command-line flags: a small configuration file per node.
                var conf = ""
                if i < n {
                    let leafPort = try BlockingSocket.freeLoopbackPort()
                    conf += "leafnodes { listen: \"127.0.0.1:\(leafPort)\"\n"
                    if i > 1 { conf += "  remotes: [ { url: \"nats-leaf://127.0.0.1:\(previousLeafPort)\" } ]\n" }
                    conf += "}\n"
                    previousLeafPort = leafPort
                } else {
                    conf += "leafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:\(previousLeafPort)\" } ] }\n"
                }
                let file = configDir.appendingPathComponent("n\(i).conf")
                try conf.write(to: file, atomically: true, encoding: .utf8)
                args += ["-c", file.path]
            default:
                break
            }
            let p = NodeProcess(name: "n\(i)", executable: exe, arguments: args)
            nodes.append(p)
            try p.start()
            let deadline = Date().addingTimeInterval(10)
            while !p.stderrLines.contains(where: { $0.contains("Server is ready") }), p.isRunning, Date() < deadline { usleep(5_000) }
            guard p.stderrLines.contains(where: { $0.contains("Server is ready") }) else {
                throw ClusterError("nats-server n\(i) did not start: \(p.stderrLines.suffix(3).joined(separator: " | "))")
            }
            ports.append(port)
        }
        let receiver = try NATSClient(port: ports.last!)
        try receiver.subscribe()
        let sender = try NATSClient(port: ports.first!)
        // Interest crosses the routes and leaf connections asynchronously: probe until a message
        // gets through.
        var through = false
        for _ in 0..<200 where !through {
            try sender.writeAll(encodePublishes(count: 1, size: size))
            through = receiver.receive(count: 1, timeout: 0.05).received == 1
        }
        guard through else { throw ClusterError("nats: the subscription never became visible across the nodes") }
        // Drain stragglers of the probes.
        while receiver.receive(count: 1, timeout: 0.1).received == 1 {}
        started = true
        return (nodes, sender, receiver, ports)
    }
}
