import ArgumentParser
import CRCCore
import CRCProtocol
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
import CRCProcess
import CRCContract
#endif

@main
struct CRCBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crc-bench",
        abstract: "Benchmarks for CRC: relay throughput and latency through real servers, and in-memory scale.",
        version: crcVersion,
        subcommands: [Relay.self, Latency.self, Simulate.self],
        defaultSubcommand: Relay.self)
}

// MARK: - Relay benchmark

struct Relay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a chain of crc-server processes, pipeline chats from a client on the first to a client on the last.",
        discussion: """
        Prints messages per second and loss for N pipelined chats (median of --runs), latency p50/p99 \
        with one message in flight, and each idle server's resident memory and CPU use.

        LATENCY CLIENTS. By default the client sleeps between round trips (--gap-us, in poll), as \
        people's clients do: every message finds the servers idle and pays for waking them. The \
        back-to-back figure (the next round trip sent as soon as the last arrives) is printed beside \
        it. --generator python drives the same network with scripts/pyload.py instead: a plain \
        Python client (blocking sendall, selectors, no TCP_NODELAY), a second opinion on both peers.

        Build in release mode first: swift build -c release && .build/release/crc-bench relay
        """)

    @OptionGroup var network: NetworkOptions
    @Option(help: "What relays: crc (a chain of crc-server) or nats (nats-server nodes, the same load through the NATS text protocol).")
    var peer: Peer = .crc
    @Option(help: "Chats pipelined per run.") var messages = 1_000_000
    @Option(help: "Throughput runs; the median is reported.") var runs = 5
    @Option(help: "Round trips for the latency measurement.") var pings = 20_000
    @Option(help: ArgumentHelp("How long the latency client sleeps (in poll) between round trips, µs; 0 sends back to back.", valueName: "µs"))
    var gapUs = 1000
    @Option(help: "Who generates the load: bench (crc-bench's own blocking-socket client) or python (scripts/pyload.py).")
    var generator: Generator = .bench
    @Option(help: ArgumentHelp("The Python generator's script.", valueName: "path")) var pythonScript = "scripts/pyload.py"
    @Flag(help: "Print one JSON object instead of text.") var json = false

    enum Peer: String, CaseIterable, ExpressibleByArgument { case crc, nats }
    enum Generator: String, CaseIterable, ExpressibleByArgument { case bench, python }

    var servers: Int { network.servers }
    var size: Int { network.size }
    var natsTopology: NATSClient.Topology { network.natsTopology }

    func validate() throws {
        guard messages >= 1, runs >= 1, pings >= 1 else { throw ValidationError("--messages, --runs and --pings must be positive") }
        guard gapUs >= 0 else { throw ValidationError("--gap-us must be 0 or more") }
        if generator == .python, !FileManager.default.fileExists(atPath: pythonScript) {
            throw ValidationError("--generator python: no \(pythonScript) (run from the repository's root, or give --python-script)")
        }
    }

    func run() throws {
        let network = try BenchNetwork.start(peer, self.network)
        defer { network.stop() }
        let (nodes, sender, receiver, encode) = (network.nodes, network.sender, network.receiver, network.encode)
        let freshRSS = nodes.map { residentKiB(pid: $0.pid) }

        var rates: [Double] = []
        var lost = 0, misordered = 0
        var samples: [Double] = [], backToBack: [Double] = []
        switch generator {
        case .bench:
            // Throughput.
            for run in 1...runs {
                progress("run \(run)/\(runs): \(messages) chats of \(size) bytes through \(servers) servers")
                let payload = encode(messages)
                let box = ResultBox()
                let count = messages
                let receiverThread = Thread { box.set(receiver.receive(count: count, timeout: 60)) }
                let start = monotonicNanos()
                receiverThread.start()
                try sender.writeAll(payload)
                let result = box.wait()
                let elapsed = Double(result.finishedAt - start) / 1e9
                lost += messages - result.received
                misordered += result.outOfOrder
                rates.append(Double(result.received) / elapsed)
            }
            // Latency with one message in flight: a sleeping client, then back to back.
            let one = encode(1)
            progress("latency: \(pings) round trips, one in flight, \(gapUs) µs asleep between them")
            for _ in 0..<pings { samples.append(try network.ping(one, gapUs: gapUs)) }
            progress("latency: \(pings) round trips back to back")
            for _ in 0..<pings { backToBack.append(try network.ping(one, gapUs: 0)) }
        case .python:
            for run in 1...runs {
                progress("run \(run)/\(runs): scripts/pyload.py, \(messages) messages through \(servers) servers")
                let out = try pyload(network, pings: run == runs ? pings : 1)
                rates.append(out["rate"]?.doubleValue ?? 0)
                if run == runs {
                    samples = [out["latency_p50_us"]?.doubleValue ?? 0]
                    backToBack = [out["latency_p99_us"]?.doubleValue ?? 0]
                }
            }
        }
        samples.sort()
        backToBack.sort()

        // Idle servers: resident memory, and CPU over one second of idleness.
        progress("idle servers: memory and CPU over 1 s, after 1.5 s of rest")
        usleep(1_500_000)
        let cpu0 = nodes.map { cpuTicks(pid: $0.pid) }
        usleep(1_000_000)
        let cpu1 = nodes.map { cpuTicks(pid: $0.pid) }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let idleCPU = zip(cpu0, cpu1).map { Double($1 - $0) / ticks * 100 }
        let rss = nodes.map { residentKiB(pid: $0.pid) }

        let median = rates.sorted()[rates.count / 2]
        // The Python generator reports its own percentiles (p50 and p99 of its round trips).
        let p50 = generator == .python ? samples[0] : percentile(samples, 50)
        let p99 = generator == .python ? backToBack[0] : percentile(samples, 99)
        let b2b: Double? = generator == .python ? nil : percentile(backToBack, 50)
        if json {
            let obj: JSONValue = [
                "peer": .string(peer.rawValue), "topology": .string(peer == .crc ? "chain" : natsTopology.rawValue), "servers": .int(servers),
                "messages": .int(messages), "size": .int(size), "runs": .int(runs),
                "rate_median": .double(median.rounded()), "rates": .array(rates.map { .double($0.rounded()) }), "lost": .int(lost),
                "out_of_order": .int(misordered), "latency_p50_us": .double(p50), "latency_p99_us": .double(p99),
                "latency_b2b_p50_us": b2b.map { .double($0) } ?? .null, "generator": .string(generator.rawValue), "gap_us": .int(gapUs),
                "idle_rss_kib": .array(rss.map { .int($0) }), "fresh_rss_kib": .array(freshRSS.map { .int($0) }),
                "idle_cpu_percent": .array(idleCPU.map { .double($0) }),
            ]
            print(obj.text)
        } else {
            print("\(peer == .crc ? "crc-server" : "nats-server"): relay through \(servers) \(peer == .crc ? "servers (a chain)" : "nodes (\(natsTopology.rawValue))"), \(size)-byte messages, \(messages) per run, \(runs) runs")
            print(String(format: "  throughput   median %.0f msg/s   (runs: %@)", median,
                         rates.map { String(format: "%.0f", $0) }.joined(separator: ", ")))
            print("  loss         \(lost) lost, \(misordered) out of order")
            print(String(format: "  latency      p50 %.1f µs   p99 %.1f µs   (%d round trips, one in flight, %d µs asleep between them; %@)", p50, p99, pings, gapUs, generator.rawValue))
            if let b2b { print(String(format: "  latency      p50 %.1f µs back to back", b2b)) }
            print("  fresh server RSS " + freshRSS.map { String(format: "%.1f MiB", Double($0) / 1024) }.joined(separator: ", "))
            print("  idle server  RSS " + rss.map { String(format: "%.1f MiB", Double($0) / 1024) }.joined(separator: ", ")
                  + " after the runs   CPU " + idleCPU.map { String(format: "%.1f%%", $0) }.joined(separator: ", "))
        }
        if lost > 0 || misordered > 0 { throw ExitCode(1) }
    }

}

/// The processes of one benchmarked network and its two ends: a sender on the first node and a
/// receiver on the last.
struct BenchNetwork {
    let nodes: [NodeProcess]
    let sender: BenchLink
    let receiver: BenchLink
    /// The client ports of the first node and the last.
    let ports: [Int]
    /// The bytes of `count` messages from the sender to the receiver.
    let encode: (Int) -> [UInt8]

    func stop() {
        for n in nodes.reversed() { n.stop(grace: 2) }
    }

    /// A chain of crc-server, or nats-server nodes connected as `options.natsTopology` says.
    static func start(_ peer: Relay.Peer, _ options: NetworkOptions) throws -> BenchNetwork {
        let (servers, size, binDir, natsTopology) = (options.servers, options.size, options.binDir, options.natsTopology)
        switch peer {
        case .crc:
            let dir = binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
            let serverPath = dir + "/crc-server"
            progress("starting \(servers) servers")
            var nodes: [NodeProcess] = []
            var ports: [Int] = []
            do {
                for i in 1...servers {
                    var args = ["--id", "\(i)", "--servername", "s\(i)", "--port", "0", "--log-level", "warning"]
                    if let up = ports.last { args += ["--connect_to_host", "127.0.0.1", "--connect_to_port", "\(up)"] }
                    let p = NodeProcess(name: "s\(i)", executable: serverPath, arguments: args)
                    nodes.append(p)
                    try p.start()
                    guard let ready = p.waitForEvent(.ready, timeout: 10), let port = ready.int("port") else {
                        throw ClusterError("server s\(i) did not start: \(p.stderrLines.suffix(3).joined(separator: " | "))")
                    }
                    ports.append(port)
                }
                let senderID: UInt32 = 1_000_001, receiverID: UInt32 = 1_000_002
                let receiver = try RawClient(port: ports.last!, id: receiverID)
                let sender = try RawClient(port: ports.first!, id: senderID)
                try sender.waitForUser(receiverID)
                return BenchNetwork(nodes: nodes, sender: sender, receiver: receiver, ports: [ports.first!, ports.last!],
                                    encode: { Relay.encodeChats(count: $0, size: size, from: senderID, to: receiverID) })
            } catch {
                for n in nodes.reversed() { n.stop(grace: 2) }
                throw error
            }
        case .nats:
            let (nodes, sender, receiver, ports) = try NATSClient.network(servers, topology: natsTopology, size: size)
            return BenchNetwork(nodes: nodes, sender: sender, receiver: receiver, ports: [ports.first!, ports.last!],
                                encode: { NATSClient.encodePublishes(count: $0, size: size) })
        }
    }

    /// One message from the sender to the receiver: how long it took, in µs. With a gap, the client
    /// first sleeps that long in poll on its receiving socket (nothing is due), as a person's client
    /// is asleep between the messages it sends.
    func ping(_ one: [UInt8], gapUs: Int = 0) throws -> Double {
        if gapUs > 0 {
            var p = pollfd(fd: receiver.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, Int32(max(1, gapUs / 1000)))
        }
        let t0 = monotonicNanos()
        try sender.writeAll(one)
        let r = receiver.receive(count: 1, timeout: 5)
        guard r.received == 1 else { throw ClusterError("a latency probe was lost") }
        return Double(r.finishedAt - t0) / 1000
    }
}

extension Relay {
    static func encodeChats(count: Int, size: Int, from: UInt32, to: UInt32) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(count * (13 + size))
        let filler = [UInt8](repeating: UInt8(ascii: "x"), count: size - 8)
        for i in 0..<count {
            buffer.writeMultipleIntegers(MessageType.clientChat.rawValue, from, to, UInt32(size), UInt64(i))
            buffer.writeBytes(filler)
        }
        return Array(buffer.readableBytesView)
    }
}

final class ResultBox: @unchecked Sendable {  // `value` is written once before `done` is signalled and read after waiting on it
    private let done = DispatchSemaphore(value: 0)
    private var value = RawClient.ReceiveResult()
    func set(_ v: RawClient.ReceiveResult) { value = v; done.signal() }
    func wait() -> RawClient.ReceiveResult { done.wait(); return value }
}

func progress(_ s: String) {
    FileHandle.standardError.write(Data("crc-bench: \(s)\n".utf8))
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func residentKiB(pid: Int32) -> Int {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}

func cpuTicks(pid: Int32) -> Int {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = s.lastIndex(of: ")") else { return 0 }
    let fields = s[s.index(after: close)...].split(separator: " ")
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
}

/// What shapes a benchmarked network, shared by `relay` and `latency`.
struct NetworkOptions: ParsableArguments {
    @Option(help: "Servers in the network (crc-server: a chain).") var servers = 3
    @Option(help: "Message text size in bytes (at least 8: it carries a sequence number).") var size = 32
    @Option(help: "Directory holding crc-server (default: next to crc-bench).") var binDir: String?
    @Option(help: "How the nats-server nodes connect: cluster (meshed routes: a message crosses one route at most) or chain (leaf-node links, each node to the next: a message crosses every node, as in a crc-server chain).")
    var natsTopology: NATSClient.Topology = .cluster

    func validate() throws {
        guard servers >= 1 else { throw ValidationError("--servers must be at least 1") }
        guard size >= 8 else { throw ValidationError("--size must be at least 8 (the text carries a sequence number)") }
    }
}

/// The value below which `p` % of the sorted `samples` lie.
func percentile(_ samples: [Double], _ p: Int) -> Double {
    samples[min(samples.count - 1, samples.count * p / 100)]
}

// MARK: - Latency, interleaved

struct Latency: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Latency through crc-server and nats-server at once, one message in flight, the two networks taking turns.",
        discussion: """
        Starts a chain of --servers crc-server processes and --servers nats-server nodes side by side, \
        then the two take turns: --block round trips through the crc-server chain, as many through \
        the NATS nodes, and again, until each has had --pings. Both networks are measured at the same \
        moments of a shared, noisy machine, so their ratio does not move with the machine's slow and \
        quick spells the way two separate runs do. Prints p50 and p99 of each and the ratio of the \
        p50s.
        """)

    @OptionGroup var network: NetworkOptions
    @Option(help: "Round trips through each network.") var pings = 20_000
    @Option(help: "Round trips through one network before the other takes its turn.") var block = 500
    @Flag(help: "Print one JSON object instead of text.") var json = false

    var servers: Int { network.servers }
    var size: Int { network.size }
    var natsTopology: NATSClient.Topology { network.natsTopology }

    func validate() throws {
        guard pings >= 1, block >= 1 else { throw ValidationError("--pings and --block must be positive") }
    }

    func run() throws {
        let crc = try BenchNetwork.start(.crc, network)
        defer { crc.stop() }
        let nats = try BenchNetwork.start(.nats, network)
        defer { nats.stop() }
        let (crcOne, natsOne) = (crc.encode(1), nats.encode(1))
        // Warm both paths up before counting.
        for _ in 0..<200 { _ = try crc.ping(crcOne); _ = try nats.ping(natsOne) }
        progress("latency: \(pings) round trips through each, in turn")
        var crcSamples: [Double] = [], natsSamples: [Double] = []
        crcSamples.reserveCapacity(pings)
        natsSamples.reserveCapacity(pings)
        // In blocks: a ping right after the other network's (Go's scheduler keeps spinning on a
        // CPU for a while after nats-server's work) is not what a network sees alone.
        var done = 0
        while done < pings {
            let n = min(block, pings - done)
            for _ in 0..<n { crcSamples.append(try crc.ping(crcOne)) }
            for _ in 0..<n { natsSamples.append(try nats.ping(natsOne)) }
            done += n
        }
        crcSamples.sort()
        natsSamples.sort()
        let pct = percentile
        let ratio = pct(crcSamples, 50) / pct(natsSamples, 50)
        if json {
            let obj: JSONValue = [
                "servers": .int(servers), "pings": .int(pings), "size": .int(size), "nats_topology": .string(natsTopology.rawValue),
                "crc_p50_us": .double(pct(crcSamples, 50)), "crc_p99_us": .double(pct(crcSamples, 99)),
                "nats_p50_us": .double(pct(natsSamples, 50)), "nats_p99_us": .double(pct(natsSamples, 99)), "ratio_p50": .double(ratio),
            ]
            print(obj.text)
        } else {
            print("latency through \(servers) server\(servers == 1 ? "" : "s"), \(size)-byte messages, \(pings) round trips each, in turn (NATS: \(natsTopology.rawValue))")
            print(String(format: "  crc-server   p50 %.1f µs   p99 %.1f µs", pct(crcSamples, 50), pct(crcSamples, 99)))
            print(String(format: "  nats-server  p50 %.1f µs   p99 %.1f µs", pct(natsSamples, 50), pct(natsSamples, 99)))
            print(String(format: "  ratio of the p50s  %.2f", ratio))
        }
    }
}

// MARK: - Simulation at scale

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the pure server core in memory: a balanced tree of servers with clients, then a chat across it.")

    @Option(help: "Servers (balanced binary tree).") var servers = 2000
    @Option(help: "Clients, spread over the servers.") var clients = 4000

    func run() throws {
        var sim = Simulation()
        let t0 = monotonicNanos()
        for i in 1...servers { sim.startServer(name: "s\(i)", id: UInt32(i), info: "", upstream: i == 1 ? nil : "s\(i / 2)") }
        sim.settle()
        for c in 1...clients { sim.startClient(name: "c\(c)", id: UInt32(1_000_000 + c), info: "", server: "s\((c % servers) + 1)") }
        sim.settle()
        let t1 = monotonicNanos()
        let complete = sim.servers.values.allSatisfy { $0.hosts.count == servers + clients - 1 }
        print("simulated \(servers) servers and \(clients) clients: \(sim.delivered) messages delivered in "
              + String(format: "%.2f s", Double(t1 - t0) / 1e9) + "; every server knows every host: \(complete)")
        if !complete { throw ExitCode(1) }
    }
}

/// Writes every byte to a blocking socket, in chunks of at most 256 KiB.
func writeAllBytes(_ fd: Int32, _ bytes: [UInt8]) throws {
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, min(bytes.count - off, 1 << 18)) }
        guard n > 0 else { throw ClusterError("write failed: \(String(cString: strerror(errno)))") }
        off += n
    }
}
