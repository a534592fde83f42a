import CRCCluster
import XCTest

/// `--repeat`'s table: pass rate, mean ± sample sd, the first failure, and which runs left logs.
final class RepeatSummaryTests: XCTestCase {
    func run(_ passed: Bool, _ seconds: Double, log: String = "") -> ScenarioResult {
        ScenarioResult(name: "s", file: "s.yaml", passed: passed, seconds: seconds, failedAt: passed ? nil : "step 1",
                       differences: [], error: passed ? nil : "chat path: never crossed hub → leaf\nmore", logDir: log)
    }

    func testAFlakyScenarioShowsItsRateTimeAndFirstFailure() {
        let s = RepeatSummary(name: "racy", results: [run(true, 1), run(false, 2, log: "logs/a"), run(true, 3), run(false, 4, log: "logs/b")])
        XCTAssertEqual(s.runs, 4)
        XCTAssertEqual(s.passed, 2)
        XCTAssertEqual(s.mean, 2.5, accuracy: 1e-9)
        XCTAssertEqual(s.sd, (5.0 / 3).squareRoot(), accuracy: 1e-9)  // sample sd of 1, 2, 3, 4
        XCTAssertEqual(s.firstFailure, "chat path: never crossed hub → leaf")
        XCTAssertEqual(s.failedLogs, ["logs/a", "logs/b"])
        let table = RepeatSummary.table([s, RepeatSummary(name: "steady", results: [run(true, 1), run(true, 1)])])
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].hasPrefix("racy      2/4       50.0%"), lines[1])
        XCTAssertTrue(lines[1].contains("2.50 ± 1.29 s"), lines[1])
        XCTAssertTrue(lines[1].hasSuffix("FLAKY: fails 2 in 4"), lines[1])
        XCTAssertTrue(lines[2].contains("first failure: chat path: never crossed hub → leaf"), lines[2])
        XCTAssertTrue(lines[3].hasPrefix("steady    2/2      100.0%"), lines[3])
        XCTAssertTrue(lines[3].hasSuffix("stable"), lines[3])
    }

    func testAScenarioThatAlwaysFailsIsNotCalledFlaky() {
        let s = RepeatSummary(name: "broken", results: [run(false, 1), run(false, 1)])
        XCTAssertTrue(RepeatSummary.table([s]).contains("always fails"))
        XCTAssertEqual(s.sd, 0)
    }
}
