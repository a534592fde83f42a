import ArgumentParser
import CRCCluster
import Foundation
import CRCProcess

// MARK: - simulate

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a network through the pure server and client cores in one process: sizes no machine could launch.",
        discussion: """
        No sockets, no processes: the routing rules themselves (CRCCore's ServerCore and \
        ClientState) exchange messages in memory, deterministically. The end state of every \
        server (hosts and first links, neighbours, status log) and client (users, logs) is checked \
        against the same model `test` uses (--no-verify skips that). Reports messages by type and \
        in all, the busiest links, the hosts-table sizes, peak memory and wall time.

        --sweep runs several sizes, each in a process of its own (so peak memory is each size's), \
        prints a table with the fitted growth, and with --svg FILE draws it.

        Examples:
          crc-cluster simulate topologies/tree.yaml
          crc-cluster simulate --servers 1000 --clients 1000 --shape balanced
          crc-cluster simulate --sweep 100,300,1000,3000 --svg docs/sweep.svg
        """)

    @Argument(help: "A topology file (its steps included); or use --servers/--clients.") var file: String?
    @Option(help: "Generate a network of this many servers.") var servers: Int?
    @Option(help: "... and this many clients (default: as many as servers).") var clients: Int?
    @Option(help: "The generated tree's shape.") var shape: Shape = .balanced
    @Option(help: "Seed of the generated tree.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Sizes to sweep (servers; clients as many), comma-separated.", valueName: "n,n,…")) var sweep: String?
    @Option(help: "With --sweep: also draw the table as SVG into this file.") var svg: String?
    @Flag(help: "Skip checking the end state against the model.") var noVerify = false
    @Flag(help: "One JSON object instead of the report (for scripts; --sweep uses it).") var json = false

    func validate() throws {
        let modes = [file != nil, servers != nil, sweep != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give a topology file, or --servers N, or --sweep n,n,…") }
        if let servers, servers < 1 { throw ValidationError("--servers must be at least 1") }
        if let clients, clients < 0 { throw ValidationError("--clients must be 0 or more") }
        if let sweep { _ = try sizes(sweep) }
        if svg != nil, sweep == nil { throw ValidationError("--svg goes with --sweep") }
    }

    func sizes(_ text: String) throws -> [Int] {
        let list = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw ValidationError("--sweep wants sizes like 100,300,1000") }
        return list.map { $0! }
    }

    func run() throws {
        if let sweep { return try runSweep(try sizes(sweep)) }
        let topology: Topology
        if let file {
            topology = try loadOrExit(file)
        } else {
            topology = try TopologyLoader.parse(TopologyGenerator.yaml(servers: servers!, clients: clients ?? servers!, shape: shape, seed: seed),
                                                file: "generated")
        }
        let t0 = Date()
        let report: SimulationReport
        do {
            // The process ends after the report: its memory is left to the exit.
            report = try SimulationRunner.run(topology, verify: !noVerify, progress: { line in
                if !json { FileHandle.standardError.write(Data(String(format: "%7.2f s  %@\n", Date().timeIntervalSince(t0), line).utf8)) }
            }, freesMemory: false)
        } catch {
            FileHandle.standardError.write(Data("crc-cluster: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let seconds = Date().timeIntervalSince(t0)
        let peak = peakResidentKiB()
        if json {
            let summary = Summary(servers: report.servers, clients: report.clients, messages: report.messages, seconds: seconds,
                                  peakKiB: peak, hostEntries: report.hostEntries, differences: report.differences.count, verified: report.verified)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(String(format: "simulated %d servers and %d clients in %.2f s; peak memory %.0f MiB", report.servers, report.clients, seconds, Double(peak) / 1024))
            print("messages delivered: \(report.messages.formatted)")
            for (type, n) in report.byType { print("  \(type.padded(20)) \(n.formatted)") }
            print("busiest links:")
            for (link, n) in report.busiest { print("  \(link.padded(40)) \(n.formatted)") }
            print("hosts per server: \(report.minHosts)–\(report.maxHosts); \(report.hostEntries.formatted) entries in all"
                  + (report.hostEntries > 0 ? String(format: ", %.0f bytes of peak memory per entry", Double(peak) * 1024 / Double(report.hostEntries)) : ""))
            if report.verified {
                print(report.differences.isEmpty ? "verified: every server and client ended as the model says"
                                                 : "NOT as the model says: \(report.differences.count) differences")
                for d in report.differences.prefix(20) { print("  \(d)") }
            } else {
                print("not verified (--no-verify)")
            }
        }
        if !report.differences.isEmpty { throw ExitCode(1) }
    }

    /// `--json`'s one line (and what a sweep reads back from each size's run).
    struct Summary: Codable {
        var servers: Int, clients: Int, messages: Int
        var seconds: Double
        var peakKiB: Int, hostEntries: Int, differences: Int
        var verified: Bool
        enum CodingKeys: String, CodingKey {
            case servers, clients, messages, seconds, peakKiB = "peak_kib", hostEntries = "host_entries", differences, verified
        }
    }

    struct Row { var n: Int; var messages: Int; var seconds: Double; var peakKiB: Int; var entries: Int; var ok: Bool }

    func runSweep(_ sizes: [Int]) throws {
        var rows: [Row] = []
        print("servers  clients     messages       time   peak memory   host entries   verified")
        for n in sizes {
            let p = NodeProcess(name: "simulate-\(n)", executable: selfPath(),
                                arguments: ["simulate", "--servers", "\(n)", "--clients", "\(n)", "--shape", shape.rawValue, "--seed", "\(seed)", "--json"]
                                    + (noVerify ? ["--no-verify"] : []))
            try p.start()
            let status = p.waitForExit(timeout: 3600)
            p.waitForEndOfOutput()
            guard let line = p.stdoutLines.last, let o = try? JSONDecoder().decode(Summary.self, from: Data(line.utf8)) else {
                print(String(format: "%7d  %7d   did not finish (%@)%@", n, n, status.map { "\($0)" } ?? "timeout",
                             status == .signalled(9) ? ": out of memory" : ""))
                break
            }
            let row = Row(n: n, messages: o.messages, seconds: o.seconds, peakKiB: o.peakKiB, entries: o.hostEntries, ok: o.differences == 0)
            rows.append(row)
            func right(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
            print(String(format: "%7d  %7d  ", n, n) + right(row.messages.formatted, 11)
                  + String(format: "  %7.2f s  %8.0f MiB  ", row.seconds, Double(row.peakKiB) / 1024)
                  + right(row.entries.formatted, 13) + "   " + (noVerify ? "-" : (row.ok ? "yes" : "NO")))
        }
        if rows.count >= 2 {
            func slope(_ ys: [Double]) -> Double {
                let xs = rows.map { log(Double($0.n)) }, ly = ys.map { log(max($0, 1e-9)) }
                let mx = xs.reduce(0, +) / Double(xs.count), my = ly.reduce(0, +) / Double(ly.count)
                let num = zip(xs, ly).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
                let den = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
                return den == 0 ? 0 : num / den
            }
            print(String(format: "fitted growth with N: messages ~ N^%.2f, host entries ~ N^%.2f, memory ~ N^%.2f, time ~ N^%.2f",
                         slope(rows.map { Double($0.messages) }), slope(rows.map { Double($0.entries) }),
                         slope(rows.map { Double($0.peakKiB) }), slope(rows.map(\.seconds))))
        }
        if let svg {
            try SweepPlot.svg(rows.map { ($0.n, Double($0.messages), Double($0.peakKiB) / 1024, $0.seconds) })
                .write(toFile: svg, atomically: true, encoding: .utf8)
            print("plot: \(svg)")
        }
    }
}



extension Int {
    /// 1,234,567
    var formatted: String {
        let s = String(self)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0, i % 3 == 0, ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }
}

func peakResidentKiB() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss)
}

/// Three log-log panels (messages, memory, time against N), drawn directly as SVG.
enum SweepPlot {
    static func svg(_ rows: [(n: Int, messages: Double, mib: Double, seconds: Double)]) -> String {
        let w = 300.0, h = 220.0, pad = 48.0
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(3 * w + 90))\" height=\"\(Int(h + 40))\" font-family=\"sans-serif\" font-size=\"11\">"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        let panels: [(String, [Double], String)] = [("messages delivered", rows.map(\.messages), "#e67e22"),
                                                   ("peak memory (MiB)", rows.map(\.mib), "#4a6fa5"),
                                                   ("wall time (s)", rows.map(\.seconds), "#3d8b37")]
        let xs = rows.map { log10(Double($0.n)) }
        for (i, panel) in panels.enumerated() {
            let x0 = 10 + Double(i) * (w + 10)
            let ys = panel.1.map { log10(max($0, 1e-3)) }
            let (xmin, xmax) = (xs.min() ?? 0, max((xs.max() ?? 1), (xs.min() ?? 0) + 0.1))
            let (ymin, ymax) = (ys.min() ?? 0, max((ys.max() ?? 1), (ys.min() ?? 0) + 0.1))
            func px(_ x: Double) -> Double { x0 + pad + (x - xmin) / (xmax - xmin) * (w - pad - 10) }
            func py(_ y: Double) -> Double { 20 + (h - pad) - (y - ymin) / (ymax - ymin) * (h - pad - 10) }
            out += "<text x=\"\(x0 + w / 2)\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">\(panel.0)</text>"
            out += "<line x1=\"\(x0 + pad)\" y1=\"\(20 + h - pad)\" x2=\"\(x0 + w - 10)\" y2=\"\(20 + h - pad)\" stroke=\"#888\"/>"
            out += "<line x1=\"\(x0 + pad)\" y1=\"20\" x2=\"\(x0 + pad)\" y2=\"\(20 + h - pad)\" stroke=\"#888\"/>"
            let points = zip(xs, ys).map { "\(px($0)),\(py($1))" }.joined(separator: " ")
            out += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(panel.2)\" stroke-width=\"2\"/>"
            for (j, (x, y)) in zip(xs, ys).enumerated() {
                out += "<circle cx=\"\(px(x))\" cy=\"\(py(y))\" r=\"3\" fill=\"\(panel.2)\"/>"
                out += "<text x=\"\(px(x))\" y=\"\(20 + h - pad + 14)\" text-anchor=\"middle\">\(rows[j].n)</text>"
                let value = panel.1[j]
                out += "<text x=\"\(px(x) + 4)\" y=\"\(py(y) - 5)\">\(value >= 1000 ? String(format: "%.3g", value) : String(format: "%.2f", value))</text>"
            }
            out += "<text x=\"\(x0 + w / 2)\" y=\"\(20 + h - pad + 30)\" text-anchor=\"middle\">N servers (and N clients), log scale</text>"
        }
        return out + "</svg>\n"
    }
}
