import CRCCluster
import Foundation

/// How much each scenario counts, and which ones students do not see before grades are
/// published: `--weights FILE`, a YAML mapping of scenario names to a weight or to
/// `{weight: N, hidden: true}`. Scenarios it does not name count 1 and are visible.
public struct ScenarioWeights: Sendable, Equatable {
    public var weights: [String: Double] = [:]
    public var hidden: Set<String> = []

    public init() {}

    public func weight(_ scenario: String) -> Double { weights[scenario] ?? 1 }
    public func isHidden(_ scenario: String) -> Bool { hidden.contains(scenario) }

    public static func parse(_ text: String, file: String) throws -> ScenarioWeights {
        var out = ScenarioWeights()
        let root = try YAMLParser.parse(text, file: file)
        guard case .mapping(let pairs, _) = root else {
            throw YAMLError(file: file, mark: root.mark, message: "expected a mapping of scenario names to weights, e.g. '4_3_Message_Three_Hops: 2'")
        }
        for pair in pairs {
            func number(_ node: YAMLNode) throws -> Double {
                guard case .scalar(let s, _, _) = node, let v = Double(s), v >= 0 else {
                    throw YAMLError(file: file, mark: node.mark, message: "'\(pair.key)': a weight is a number of points, 0 or more")
                }
                return v
            }
            switch pair.value {
            case .scalar:
                out.weights[pair.key] = try number(pair.value)
            case .mapping(let fields, let mark):
                for f in fields {
                    switch f.key {
                    case "weight": out.weights[pair.key] = try number(f.value)
                    case "hidden":
                        guard case .scalar(let s, _, _) = f.value, ["true", "false", "yes", "no"].contains(s) else {
                            throw YAMLError(file: file, mark: f.value.mark, message: "'\(pair.key)': hidden is true or false")
                        }
                        if s == "true" || s == "yes" { out.hidden.insert(pair.key) }
                    default:
                        throw YAMLError(file: file, mark: mark, message: "'\(pair.key)': unknown key '\(f.key)' (known: weight, hidden)")
                    }
                }
            default:
                throw YAMLError(file: file, mark: pair.value.mark, message: "'\(pair.key)': give a weight, or {weight: N, hidden: true}")
            }
        }
        return out
    }
}

/// One student's results on every scenario, in scenario order (nil: not run, the batch was interrupted).
public struct StudentResults: Sendable {
    public var student: String
    public var submission: String
    public var results: [ScenarioResult?]

    public init(student: String, submission: String, results: [ScenarioResult?]) {
        self.student = student
        self.submission = submission
        self.results = results
    }

    public var passed: Int { results.filter { $0?.passed == true }.count }

    public func points(_ scenarios: [String], _ weights: ScenarioWeights) -> (got: Double, of: Double) {
        var got = 0.0, of = 0.0
        for (i, s) in scenarios.enumerated() {
            of += weights.weight(s)
            if results[i]?.passed == true { got += weights.weight(s) }
        }
        return (got, of)
    }
}

/// A class's grades: the terminal table, `summary.csv` and `summary.html`. Pure: results in, text out.
public enum ClassReport {
    public static func points(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.2f", v) }

    /// Student × scenario: P for a pass, F for a failure, - for not run; then the score.
    public static func table(_ students: [StudentResults], scenarios: [String], weights: ScenarioWeights) -> String {
        let width = max(7, students.map(\.student.count).max() ?? 7)
        var out = "student".padding(toLength: width, withPad: " ", startingAt: 0) + "  "
        out += scenarios.indices.map { String(format: "%-2d", $0 + 1) }.joined(separator: " ") + "  score\n"
        for s in students {
            let (got, of) = s.points(scenarios, weights)
            let marks = s.results.map { $0 == nil ? "- " : ($0!.passed ? "P " : "F ") }.joined(separator: " ")
            out += s.student.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + marks
                + "  \(points(got))/\(points(of))" + (of > 0 ? String(format: " (%.0f%%)", 100 * got / of) : "") + "\n"
        }
        out += "\nscenarios: " + scenarios.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: ", ")
        return out
    }

    /// One row per student: name, submission, one column per scenario (1 pass, 0 fail, empty not
    /// run), passed, points, out of.
    public static func csv(_ students: [StudentResults], scenarios: [String], weights: ScenarioWeights) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = (["student", "submission"] + scenarios + ["passed", "points", "out_of"]).map(field).joined(separator: ",") + "\n"
        for s in students {
            let (got, of) = s.points(scenarios, weights)
            let cells = s.results.map { $0 == nil ? "" : ($0!.passed ? "1" : "0") }
            out += ([s.student, s.submission] + cells + ["\(s.passed)", points(got), points(of)]).map(field).joined(separator: ",") + "\n"
        }
        return out
    }

    /// A self-contained page: one row per student, one cell per scenario linking to that run's
    /// report (paths relative to `folder`, where the page is written), the first difference as
    /// the cell's tooltip.
    public static func html(_ students: [StudentResults], scenarios: [String], weights: ScenarioWeights, folder: URL) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        func relative(_ path: String) -> String {
            let base = folder.standardizedFileURL.pathComponents, target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
            var i = 0
            while i < base.count, i < target.count, base[i] == target[i] { i += 1 }
            return (Array(repeating: "..", count: base.count - i) + target[i...]).joined(separator: "/")
        }
        var rows = ""
        for s in students {
            let (got, of) = s.points(scenarios, weights)
            var cells = ""
            for r in s.results {
                guard let r else { cells += "<td class=\"none\">–</td>"; continue }
                let why = r.error ?? r.differences.first.map { "\(r.failedAt.map { "\($0): " } ?? "")\($0)" } ?? ""
                let mark = r.passed ? "pass" : "fail"
                let link = r.logDir.isEmpty ? (r.passed ? "✓" : "✗") : "<a href=\"\(esc(relative(r.logDir + "/report.html")))\">\(r.passed ? "✓" : "✗")</a>"
                cells += "<td class=\"\(mark)\" title=\"\(esc(why))\">\(link)</td>"
            }
            rows += "<tr><th>\(esc(s.student))</th>\(cells)<td class=\"score\">\(points(got))/\(points(of))</td></tr>\n"
        }
        let heads = scenarios.map { "<th class=\"scenario\" title=\"\(esc($0))\"><span>\(esc($0))</span></th>" }.joined()
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>crc-cluster: class summary</title>
        <style>
        body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
        table { border-collapse: collapse; }
        th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: center; }
        th.scenario { height: 12em; vertical-align: bottom; }
        th.scenario span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
        tr > th:first-child { text-align: left; }
        td.pass { background: #e6f4ea; } td.fail { background: #fce8e6; } td.none { color: #999; }
        td a { color: inherit; text-decoration: none; display: block; }
        td.score { font-weight: bold; }
        </style></head><body>
        <h1>Class summary</h1>
        <p>\(students.count) submissions × \(scenarios.count) scenarios. Click a cell for that run's report; hover it for the first difference.</p>
        <table><thead><tr><th>student</th>\(heads)<th>score</th></tr></thead><tbody>
        \(rows)</tbody></table>
        </body></html>

        """
    }
}
