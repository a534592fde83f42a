import Foundation

/// A scenario run many times (`test --repeat N`, `grade --repeat N`): how often it passed and how
/// long it took, so an order-dependent bug shows as 3/50 rather than as a lucky pass. Pure.
public struct RepeatSummary: Sendable, Equatable {
    public var name: String
    public var runs: Int
    public var passed: Int
    /// Seconds per run: mean and sample standard deviation (0 for one run).
    public var mean: Double
    public var sd: Double
    /// The first failing run's first difference, and where its logs are.
    public var firstFailure: String?
    public var failedLogs: [String]

    public var failed: Int { runs - passed }

    /// One summary for the runs of one scenario.
    public init(name: String, results: [ScenarioResult]) {
        self.name = name
        runs = results.count
        passed = results.filter(\.passed).count
        let times = results.map(\.seconds)
        mean = times.isEmpty ? 0 : times.reduce(0, +) / Double(times.count)
        let m = mean
        sd = times.count < 2 ? 0 : (times.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(times.count - 1)).squareRoot()
        let failing = results.filter { !$0.passed }
        firstFailure = failing.first.map { r in
            (r.error.map { String($0.split(separator: "\n").first ?? "") }
             ?? r.differences.first.map { "\(r.failedAt.map { "\($0): " } ?? "")\(String($0.description.split(separator: "\n").first ?? ""))" }
             ?? "failed")
        }
        failedLogs = failing.map(\.logDir).filter { !$0.isEmpty }
    }

    /// The table `--repeat` prints: pass rate and mean ± sd time per scenario, flaky ones marked.
    public static func table(_ rows: [RepeatSummary]) -> String {
        let width = max(8, rows.map(\.name.count).max() ?? 8)
        var out = "scenario".padding(toLength: width, withPad: " ", startingAt: 0) + "  passed   rate    time (mean ± sd)  verdict\n"
        for r in rows {
            let rate = r.runs == 0 ? 0 : 100 * Double(r.passed) / Double(r.runs)
            let verdict = r.failed == 0 ? "stable" : r.passed == 0 ? "always fails" : "FLAKY: fails \(r.failed) in \(r.runs)"
            out += r.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + "\(r.passed)/\(r.runs)".padding(toLength: 7, withPad: " ", startingAt: 0) + "  "
                + String(format: "%5.1f%%", rate) + "  " + String(format: "%6.2f ± %.2f s", r.mean, r.sd).padding(toLength: 16, withPad: " ", startingAt: 0)
                + "  " + verdict + "\n"
            if let f = r.firstFailure { out += "".padding(toLength: width, withPad: " ", startingAt: 0) + "  first failure: \(f.prefix(240))\n" }
        }
        return out
    }
}
