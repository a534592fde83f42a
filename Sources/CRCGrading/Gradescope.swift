import CRCCluster
import Foundation

/// Gradescope's autograder results (`/autograder/results/results.json`): a score, and one test
/// per scenario with its points, status, what went wrong, and who may see it. Pure.
public struct GradescopeResults: Codable, Sendable, Equatable {
    public struct Test: Codable, Sendable, Equatable {
        public var name: String
        public var score: Double
        public var maxScore: Double
        public var status: String
        public var output: String
        public var visibility: String

        enum CodingKeys: String, CodingKey { case name, score, maxScore = "max_score", status, output, visibility }
    }

    public var score: Double
    public var output: String
    public var visibility: String
    public var stdoutVisibility: String
    public var tests: [Test]

    enum CodingKeys: String, CodingKey { case score, output, visibility, stdoutVisibility = "stdout_visibility", tests }

    /// The results of one submission: each scenario a test worth its weight; a hidden scenario is
    /// `after_published` (students see it once grades are published), the others `visible`.
    public init(scenarios: [String], results: [ScenarioResult?], weights: ScenarioWeights) {
        var tests: [Test] = []
        for (i, name) in scenarios.enumerated() {
            let r = results[i]
            let weight = weights.weight(name)
            var output: String
            if let r {
                if r.passed {
                    output = String(format: "passed in %.2f s", r.seconds)
                } else if let error = r.error {
                    output = error
                } else {
                    output = "differences \(r.failedAt ?? ""):\n" + r.differences.prefix(20).map { "  \($0)" }.joined(separator: "\n")
                    if r.differences.count > 20 { output += "\n  … and \(r.differences.count - 20) more" }
                }
            } else {
                output = "not run: the grading was interrupted"
            }
            tests.append(Test(name: name, score: r?.passed == true ? weight : 0, maxScore: weight,
                              status: r?.passed == true ? "passed" : "failed", output: output,
                              visibility: weights.isHidden(name) ? "after_published" : "visible"))
        }
        self.tests = tests
        score = tests.reduce(0) { $0 + $1.score }
        let passed = tests.filter { $0.status == "passed" }.count
        output = "crc-cluster: \(passed) of \(tests.count) scenarios passed, checked on the wire and on the object's graded attributes."
        visibility = "visible"
        stdoutVisibility = "hidden"
    }

    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self) + "\n"
    }
}
