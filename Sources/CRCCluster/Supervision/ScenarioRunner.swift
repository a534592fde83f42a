import Foundation
import CRCProcess

public struct ScenarioResult: Sendable {
    public var name: String
    public var file: String
    public var passed: Bool
    public var seconds: Double
    /// Which step failed (0 = launch, n = step n, steps+1 = final check).
    public var failedAt: String?
    public var differences: [Difference]
    public var error: String?
    public var logDir: String
    /// What else the run noticed that people should know (output dropped past a sandbox's cap).
    public var notes: [String] = []
    /// Not run: the file is invalid (`error` says why), or the run was interrupted before it.
    public var outcome: Outcome = .ran

    public enum Outcome: Sendable { case ran, invalid, skipped }

    public init(name: String, file: String, passed: Bool, seconds: Double, failedAt: String? = nil,
                differences: [Difference] = [], error: String? = nil, logDir: String = "", outcome: Outcome = .ran) {
        self.name = name
        self.file = file
        self.passed = passed
        self.seconds = seconds
        self.failedAt = failedAt
        self.differences = differences
        self.error = error
        self.logDir = logDir
        self.outcome = outcome
    }
}

/// Runs one scenario: launch, check; each step, check; final check with hand-written
/// expectations; teardown. Never waits a fixed time: every wait is for an event with a deadline.
public enum ScenarioRunner {
    public static func run(_ topology: Topology, options: RunOptions) -> ScenarioResult {
        let start = Date()
        var options = options
        let outer = options.interrupted
        let deadline = options.timeLimit.map { start.addingTimeInterval($0) }
        if let deadline {
            options.interrupted = { (outer?() ?? false) || Date() > deadline }
        }
        var notes: [String] = []
        var result = runTimed(topology, options: options, notes: &notes)
        result.notes = notes
        if !result.passed, let deadline, Date() > deadline, outer?() != true, result.error == nil || result.error!.hasPrefix("interrupted") {
            let at = result.failedAt.map { " (\($0))" } ?? result.error.map { " (\($0.dropFirst("interrupted ".count)))" } ?? ""
            result.error = String(format: "exceeded its time limit of %.0f s%@", options.timeLimit ?? 0, at)
            result.failedAt = nil
            result.differences = []
        } else if !result.passed, result.error == nil, options.interrupted?() == true {
            result.error = "interrupted \(result.failedAt.map { "while checking \($0)" } ?? "")"
            result.failedAt = nil
            result.differences = []
        }
        result.seconds = Date().timeIntervalSince(start)
        return result
    }

    /// `notes`: what the run noticed beside its verdict, gathered at teardown (a `defer` cannot
    /// change the result it returns).
    static func runTimed(_ topology: Topology, options: RunOptions, notes: inout [String]) -> ScenarioResult {
        var result = ScenarioResult(name: topology.displayName, file: topology.file, passed: false, seconds: 0,
                                    failedAt: nil, differences: [], error: nil, logDir: "")
        let run: ClusterRun
        do {
            run = try ClusterRun(topology: topology, options: options, runID: ClusterRun.makeRunID(topology.displayName))
        } catch {
            result.error = "cannot create the log folder: \(error)"
            return result
        }
        result.logDir = run.runDir.path
        defer {
            _ = run.teardown()
            if let t = run.lastTeardown {
                options.onProgress?(String(format: "%@: torn down in %.2f s (%d waves, slowest %.2f s)", topology.displayName, t.seconds, t.waves, t.slowestWave))
            }
            notes = run.outputNotes()
            run.writeReport(passed: result.passed, failedAt: result.failedAt, differences: result.differences, error: result.error)
        }
        do {
            options.onProgress?("\(topology.displayName): launching")
            try run.launchAll()
            // Under a gate that races commands, a chat or quit step may go before what the launch
            // or a start set in motion has settled: the check before it is left to the one after it.
            let races = racedSteps(topology, options)
            var diffs: [Difference] = []
            if !races.first! {
                options.onProgress?("\(topology.displayName): launched; checking")
                diffs = run.check()
            }
            if !diffs.isEmpty {
                result.failedAt = "after launch"
                result.differences = diffs
                return result
            }
            for (i, step) in topology.steps.enumerated() {
                if options.interrupted?() == true {
                    result.error = "interrupted before step \(i + 1) (\(step.summary))"
                    return result
                }
                options.onProgress?("\(topology.displayName): step \(i + 1): \(step.summary)")
                run.racesNextStep = races[i]
                try run.perform(step.action)
                run.racesNextStep = false
                if races[i + 1] { continue }
                diffs = run.check(within: step.within)
                if !diffs.isEmpty {
                    result.failedAt = "step \(i + 1) (\(step.summary))"
                    result.differences = diffs
                    return result
                }
            }
            if options.interrupted?() == true {
                result.error = "interrupted before the final check"
                return result
            }
            options.onProgress?("\(topology.displayName): final check")
            diffs = run.check(final: true)
            options.onProgress?("\(topology.displayName): tearing down")
            if !diffs.isEmpty {
                result.failedAt = "final state"
                result.differences = diffs
                return result
            }
            result.passed = true
        } catch {
            result.error = "\(error)"
        }
        return result
    }

    /// For each step, whether it is a chat or a quit that may race what came before (see
    /// `runTimed`); one more entry (false) for the end. Only what the checks can judge: a step
    /// right after the launch or a start (the registrations those set in motion). A quit then
    /// ends as in any order (each link carries the client's registration before its quit, so
    /// every server and client learns of it, then forgets it), once every server has joined
    /// (`DeliveryGate.awaitCommand`). A chat meets what its sender's server knew (`ChatRaces`);
    /// not a chat to an id two nodes claim, or between clients whose logs the scenario writes out
    /// by hand (its final expectations are for the usual order). A step after a quit or a chat
    /// waits for the network to settle, as in `test`: a chat crossing a quit, or two chats
    /// crossing, need an oracle that knows each order's outcome.
    static func racedSteps(_ topology: Topology, _ options: RunOptions) -> [Bool] {
        guard options.gate?.racesCommands == true else { return Array(repeating: false, count: topology.steps.count + 1) }
        var out: [Bool] = []
        var afterRegistrations = true  // the launch
        for step in topology.steps {
            var raced = false
            switch step.action {
            case .chat(let from, let to, _) where afterRegistrations:
                if let destination = UInt32(to) ?? topology.client(named: to)?.id {
                    let claims = topology.servers.filter { $0.id == destination }.count + topology.clients.filter { $0.id == destination }.count
                    let pinned = [from, to].contains { topology.expect[$0]?.statusLog != nil || topology.expect[$0]?.chatLog != nil }
                    raced = claims == 1 && !pinned
                }
            case .quit where afterRegistrations:
                raced = true
            default:
                break
            }
            out.append(raced)
            if case .start = step.action { afterRegistrations = true } else { afterRegistrations = false }
        }
        return out + [false]
    }

    /// Scenario files under the given files and folders (*.yaml, *.yml), sorted. A path that
    /// names nothing on disk may name a built-in file or folder (`BuiltInScenarios`).
    public static func expand(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                if BuiltInScenarios.file(path) != nil { out.append(path); continue }
                if let files = BuiltInScenarios.folder(path) { out += files; continue }
                throw ClusterError("\(path): no such file or folder, here or among the built-in scenarios (crc-cluster scenarios lists them)")
            }
            if isDir.boolValue {
                let found = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                    .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                    .map { (path as NSString).appendingPathComponent($0) }
                if found.isEmpty { throw ClusterError("\(path): no .yaml scenario files in this folder") }
                out += found
            } else {
                out.append(path)
            }
        }
        return out
    }

    /// JUnit XML for CI systems.
    public static func junit(_ results: [ScenarioResult], seconds: Double) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let failures = results.filter { !$0.passed && $0.outcome == .ran }.count
        let errors = results.filter { $0.outcome == .invalid }.count
        let skipped = results.filter { $0.outcome == .skipped }.count
        let counts = "tests=\"\(results.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(String(format: "%.3f", seconds))\""
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites \(counts)>\n"
        xml += "  <testsuite name=\"crc-cluster\" \(counts)>\n"
        for r in results {
            xml += "    <testcase classname=\"\(esc(r.file))\" name=\"\(esc(r.name))\" time=\"\(String(format: "%.3f", r.seconds))\""
            if r.outcome == .invalid {
                xml += ">\n      <error message=\"invalid scenario file\">\(esc(r.error ?? ""))</error>\n    </testcase>\n"
            } else if r.outcome == .skipped {
                xml += ">\n      <skipped message=\"not run: the run was interrupted\"/>\n    </testcase>\n"
            } else if r.passed {
                xml += "/>\n"
            } else {
                let message = r.error ?? "differences at \(r.failedAt ?? "?")"
                let body = (r.differences.map(\.description) + ["logs: \(r.logDir)"]).joined(separator: "\n")
                xml += ">\n      <failure message=\"\(esc(message))\">\(esc(body))</failure>\n    </testcase>\n"
            }
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }
}
