import CRCCluster
import Foundation

/// How the orders are chosen.
public enum StrategyKind: String, CaseIterable, Sendable {
    case random, pct, exhaustive
}

/// How long an exploration may go on: a number of runs, or seconds.
public enum Budget: Sendable, CustomStringConvertible, Equatable {
    case runs(Int)
    case seconds(Double)

    /// "200" (runs), "30s", "2m", "1m30s".
    public init?(_ text: String) {
        if let n = Int(text), n > 0 { self = .runs(n); return }
        var total = 0.0, number = ""
        for ch in text {
            if ch.isNumber || ch == "." { number.append(ch); continue }
            guard let v = Double(number) else { return nil }
            switch ch {
            case "s": total += v
            case "m": total += v * 60
            case "h": total += v * 3600
            default: return nil
            }
            number = ""
        }
        guard number.isEmpty, total > 0 else { return nil }
        self = .seconds(total)
    }

    public var description: String {
        switch self {
        case .runs(let n): return "\(n) run\(n == 1 ? "" : "s")"
        case .seconds(let s): return s.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(s / 60)) min" : String(format: "%.0f s", s)
        }
    }
}

/// What an exploration found.
public struct ExploreReport: Sendable {
    public var runs = 0
    public var distinct = 0
    public var seconds = 0.0
    /// The exhaustive search ran every schedule there is (up to reduction).
    public var complete = false
    /// The first failure: its run and schedule, then the shrunk ones.
    public var failure: Found?
    public var decisionsPerRun = 0.0
    /// Exhaustive: every schedule with fewer reorderings than this has been run.
    public var reorderingsExplored = 0
    /// A run could not even start (its log folder): nothing was explored.
    public var error: String?
    /// Seconds the shrinking took (not counted in `seconds`).
    public var shrinkSeconds = 0.0

    public struct Found: Sendable {
        public var run: Int
        public var secondsToFind: Double
        public var result: ScenarioResult
        public var schedule: Schedule
        public var shrunk: Schedule
        public var shrunkResult: ScenarioResult
        public var shrinkRuns: Int
        /// Where the shrunk schedule was written.
        public var path: String
    }

    public var schedulesPerSecond: Double { seconds > 0 ? Double(runs) / seconds : 0 }
}

/// Runs one scenario many times, each under a schedule the strategy picks, checks each run as
/// `test` does, and stops at the first failure (which it shrinks) or at the budget. The runs
/// are real: every node is a process, every message crosses a relay.
public final class Explorer {
    public struct Options: Sendable {
        public var strategy: StrategyKind = .random
        public var budget: Budget = .runs(100)
        public var seed: UInt64 = 1
        /// PCT's bound on the orderings a bug needs.
        public var depth = 3
        /// Runs the shrinking may take.
        public var shrinkRuns = 30
        public var gate = ScheduledGate.Options()
        /// Partial-order reduction in the exhaustive search.
        public var reduce = true
        /// Keep every run's folder, each with its schedule.json (by default only failing runs').
        public var keepAll = false
        /// The command every server runs (recorded in `schedule.json`), nil for the scenario's own.
        public var command: [String]?
        public init() {}
    }

    let topology: Topology
    let runOptions: RunOptions
    let options: Options
    /// Told of each run as it ends: its number, result, decisions.
    public var onRun: ((Int, ScenarioResult, [Decision]) -> Void)?
    /// Told of each shrinking run: reorderings tried, and whether it still failed.
    public var onShrink: ((Int, Int, Bool) -> Void)?

    public init(topology: Topology, runOptions: RunOptions, options: Options) {
        self.topology = topology
        self.runOptions = runOptions
        self.options = options
    }

    /// One run under `strategy`: the result, the decisions, the strategy as it ended.
    public func run(_ strategy: any Strategy) -> (result: ScenarioResult, decisions: [Decision], strategy: any Strategy) {
        let gate = ScheduledGate(topology: topology, strategy: strategy, options: options.gate)
        var o = runOptions
        o.gate = gate
        o.tap = true
        let result = ScenarioRunner.run(topology, options: o)
        gate.release()  // teardown released it, unless the run never started (its folder could not be made)
        return (result, gate.decisions, gate.strategy)
    }

    public func explore() -> ExploreReport {
        var report = ExploreReport()
        let start = Date()
        var seen = Set<UInt64>()
        var search = FewestReorderingsFirst()
        var forced = search.nextPrefix()
        var length = 0
        var decisionsTotal = 0
        func out() -> Bool {
            switch options.budget {
            case .runs(let n): return report.runs >= n
            case .seconds(let s): return Date().timeIntervalSince(start) >= s
            }
        }
        while !out(), runOptions.interrupted?() != true {
            let k = report.runs
            let strategy: any Strategy
            if options.strategy == .exhaustive {
                guard let f = forced else { report.complete = true; break }
                strategy = PrefixThenDefault(prefix: f.prefix, reduce: options.reduce)
            } else if k == 0 {
                // The first run is the default order: the usual order must pass first.
                strategy = DefaultOrder()
            } else if options.strategy == .pct {
                strategy = PCT(seed: SeededRandom.seed(options.seed, run: k), depth: options.depth, length: max(length, 1))
            } else {
                strategy = RandomWalk(seed: SeededRandom.seed(options.seed, run: k))
            }
            let (result, decisions, ended) = run(strategy)
            report.runs += 1
            decisionsTotal += decisions.count
            if k == 0 { length = decisions.count }
            seen.insert(Schedule.digest(decisions))
            onRun?(report.runs, result, decisions)
            if options.strategy == .exhaustive, let e = ended as? PrefixThenDefault, let f = forced {
                search.record(e, reorderings: f.reorderings)
                forced = search.nextPrefix()
                report.reorderingsExplored = f.reorderings
            }
            if !result.passed, result.logDir.isEmpty {
                report.error = result.error ?? "the run could not start"
                break
            }
            if !result.passed {
                if runOptions.interrupted?() == true { break }
                let found = Date().timeIntervalSince(start)
                let scenario = FileManager.default.fileExists(atPath: topology.file)
                    ? URL(fileURLWithPath: topology.file).standardizedFileURL.path : topology.file
                var schedule = Schedule(scenario: scenario, strategy: options.strategy.rawValue, seed: SeededRandom.seed(options.seed, run: k),
                                        command: options.command, decisions: decisions, failure: Self.why(result))
                schedule.classHosted = runOptions.classHostedServers ? true : nil
                schedule.quietMilliseconds = options.gate.quietMilliseconds
                write(schedule, into: result.logDir)
                report.seconds = Date().timeIntervalSince(start)
                // Without reorderings there is nothing to shrink: it fails in the default order.
                let (shrunk, shrunkResult, reruns) = schedule.constraints.isEmpty ? (schedule, result, 0) : shrink(schedule, result)
                let path = URL(fileURLWithPath: shrunkResult.logDir).appendingPathComponent("schedule.json").path
                write(shrunk, into: shrunkResult.logDir)
                report.failure = .init(run: report.runs, secondsToFind: found, result: result, schedule: schedule, shrunk: shrunk,
                                       shrunkResult: shrunkResult, shrinkRuns: reruns, path: path)
                report.shrinkSeconds = Date().timeIntervalSince(start) - report.seconds
                break
            }
            if options.keepAll {
                var kept = Schedule(scenario: topology.file, strategy: options.strategy.rawValue, seed: SeededRandom.seed(options.seed, run: k),
                                    command: options.command, decisions: decisions)
                kept.classHosted = runOptions.classHostedServers ? true : nil
                kept.quietMilliseconds = options.gate.quietMilliseconds
                write(kept, into: result.logDir)
            } else {
                try? FileManager.default.removeItem(atPath: result.logDir)
            }
            if options.strategy == .exhaustive, forced == nil { report.complete = true }
        }
        report.distinct = seen.count
        if report.failure == nil { report.seconds = Date().timeIntervalSince(start) }
        report.decisionsPerRun = report.runs > 0 ? Double(decisionsTotal) / Double(report.runs) : 0
        return report
    }

    /// Delta debugging over the reorderings (Zeller's ddmin, on real re-runs): the failing run's
    /// reorderings become constraints (`Constrained`), and the fewest of them that still make the
    /// scenario fail are kept. The shrunk schedule is the last failing run's.
    func shrink(_ failing: Schedule, _ failingResult: ScenarioResult) -> (Schedule, ScenarioResult, Int) {
        var reruns = 0
        var last: (constraints: [Constraint], result: ScenarioResult, decisions: [Decision])?
        var folders: [String] = []
        let minimal = ddmin(failing.constraints) { subset -> Bool? in
            guard reruns < options.shrinkRuns else { return nil }
            let (result, decisions, _) = run(Constrained(subset))
            reruns += 1
            onShrink?(subset.count, reruns, !result.passed)
            folders.append(result.logDir)
            if !result.passed, subset.count < (last?.constraints.count ?? Int.max) { last = (subset, result, decisions) }
            return !result.passed
        }
        let kept = last.flatMap { $0.constraints == minimal ? $0 : nil }
        for dir in folders where dir != kept?.result.logDir { try? FileManager.default.removeItem(atPath: dir) }
        guard let kept else { return (failing, failingResult, reruns) }
        var shrunk = Schedule(scenario: failing.scenario, strategy: failing.strategy, seed: failing.seed, command: failing.command,
                              decisions: kept.decisions, failure: Self.why(kept.result))
        shrunk.constraints = kept.constraints
        shrunk.classHosted = failing.classHosted
        shrunk.quietMilliseconds = failing.quietMilliseconds
        return (shrunk, kept.result, reruns)
    }

    /// The first thing that went wrong, in one line.
    public static func why(_ r: ScenarioResult) -> String {
        if let e = r.error { return String(e.split(separator: "\n").first ?? "") }
        let d = r.differences.first.map { String($0.description.split(separator: "\n").first ?? "") } ?? ""
        return "\(r.failedAt ?? ""): \(d)"
    }

    func write(_ schedule: Schedule, into dir: String) {
        guard !dir.isEmpty, let data = try? schedule.json() else { return }
        try? data.write(to: URL(fileURLWithPath: dir).appendingPathComponent("schedule.json"))
    }
}
