import CRCCluster
import CRCExplore
import CRCGrading
import CRCProcess
import Foundation
import NIOConcurrencyHelpers

/// `grade --explore BUDGET`: besides the usual order, each scenario of three nodes or more is
/// explored under other message orders, and counts as one more graded test ("… [orders]"),
/// passed when no order made it fail.
struct GradeExploration {
    let budget: Budget
    let strategy: StrategyKind
    let seed: UInt64
    let jobs: Int

    /// The scenarios worth exploring: with one link only, no two messages can race.
    static func explorable(_ t: Topology) -> Bool { t.servers.count + t.clients.count >= 3 }

    static func name(_ scenario: String) -> String { "\(scenario) [orders]" }

    /// Explores `scenarios` for each submission, `jobs` at once; one result per (submission, scenario).
    func run(_ graded: [(student: String, command: [String])], scenarios: [Topology], batch: Bool,
             options: @escaping (Topology) -> RunOptions, console: Console) -> [[ScenarioResult]] {
        let results = NIOLockedValueBox([[ScenarioResult?]](repeating: Array(repeating: nil, count: scenarios.count), count: graded.count))
        let stop = SignalCounter()
        let sources = installSignalHandlers({ n in
            if n == 1 { console.plain("interrupted: ending the explorations in progress") }
        }, counter: stop)
        defer { sources.forEach { $0.cancel() } }
        let slots = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        let total = graded.count * scenarios.count
        let done = NIOLockedValueBox(0)
        console.plain("exploring message orders: \(total) explorations of \(budget) each (\(strategy.rawValue), seed \(seed)), \(jobs) at a time")
        for (k, g) in graded.enumerated() {
            for (s, scenario) in scenarios.enumerated() {
                slots.wait()
                group.enter()
                let topology = Grade.graded(scenario, command: g.command, template: nil, mix: nil)
                var runOptions = options(topology)
                runOptions.interrupted = { stop.count > 0 }
                var o = Explorer.Options()
                (o.strategy, o.budget, o.seed, o.command) = (strategy, budget, seed, g.command)
                let label = (batch ? "\(g.student): " : "") + Self.name(scenario.displayName)
                let (runs, explore) = (runOptions, o)
                let thread = Thread {
                    let report = Exploration.run(topology, runOptions: runs, options: explore, console: nil, verbose: false)
                    let r = Self.result(report, name: label, file: scenario.file)
                    results.withLockedValue { $0[k][s] = r }
                    let n = done.withLockedValue { $0 += 1; return $0 }
                    console.plain(String(format: "[%d/%d] %@ %@ (%d schedules, %.1f s)", n, total, r.passed ? "PASS" : "FAIL", label,
                                         report.runs, report.seconds + report.shrinkSeconds)
                                  + (r.passed ? "" : ": " + (r.error ?? "")))
                    slots.signal()
                    group.leave()
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
        }
        group.wait()
        return results.withLockedValue { $0 }.map { $0.map { $0 ?? ScenarioResult(name: "", file: "", passed: false, seconds: 0, outcome: .skipped) } }
    }

    /// An exploration as a graded test: failed with the shrunk schedule and how to replay it.
    static func result(_ report: ExploreReport, name: String, file: String) -> ScenarioResult {
        if let error = report.error { return ScenarioResult(name: name, file: file, passed: false, seconds: 0, error: error) }
        guard let f = report.failure else {
            return ScenarioResult(name: name, file: file, passed: true, seconds: report.seconds)
        }
        if f.schedule.constraints.isEmpty {
            return ScenarioResult(name: name, file: file, passed: false, seconds: report.seconds,
                                  error: "fails in the usual order too: \(Explorer.why(f.result))", logDir: f.result.logDir)
        }
        var r = ScenarioResult(name: name, file: file, passed: false, seconds: report.seconds + report.shrinkSeconds,
                               error: "fails when \(f.shrunk.reorderings) message\(f.shrunk.reorderings == 1 ? " goes" : "s go") out of the usual order (found in schedule \(f.run)): \(Explorer.why(f.shrunkResult))"
                                   + f.shrunk.constraints.map { "\n  reordered: \($0.description)" }.joined()
                                   + "\n  replay: crc-cluster test --replay \(f.path)",
                               logDir: f.shrunkResult.logDir)
        r.differences = f.shrunkResult.differences
        return r
    }
}
