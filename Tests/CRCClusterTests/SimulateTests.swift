import CRCCluster
import Foundation
import XCTest

/// `simulate`: whole networks through the pure cores, checked against the model; the check must
/// be able to fail, and the sweep must show the growth it claims.
final class SimulateTests: ClusterTestCase {
    func testSimulatedNetworksEndAsTheModelSays() throws {
        // Every seed scenario and the examples without link faults, in memory.
        var files = try ScenarioRunner.expand([Self.root.appendingPathComponent("topologies/seed").path,
                                               Self.root.appendingPathComponent("topologies/conformance").path])
        files += ["tree.yaml", "line.yaml", "star.yaml"].map { Self.root.appendingPathComponent("topologies/\($0)").path }
        for f in files {
            let t = try TopologyLoader.load(path: f)
            let r = try SimulationRunner.run(t)
            XCTAssertEqual(r.differences.map(\.description), [], f)
            XCTAssertGreaterThan(r.messages, 0, f)
        }
        // A wrong hand-written expectation is reported, so the check is real.
        var t = try TopologyLoader.load(path: Self.root.appendingPathComponent("topologies/tree.yaml").path)
        var e = NodeExpectation()
        e.hosts = [999]
        t.expect["theshire"] = e
        let r = try SimulationRunner.run(t)
        XCTAssertTrue(r.differences.contains { $0.description.hasPrefix("theshire hosts: missing 999") }, "\(r.differences)")
        // Link faults need relays: refused plainly.
        let demo = try TopologyLoader.load(path: Self.root.appendingPathComponent("topologies/demo.yaml").path)
        XCTAssertThrowsError(try SimulationRunner.run(demo)) { XCTAssertTrue("\($0)".contains("is a link fault")) }
    }

    func testSweepPrintsTheGrowthAndDrawsIt() throws {
        let svg = tmp.appendingPathComponent("sweep.svg")
        let p = try cluster(["simulate", "--sweep", "20,40,80", "--svg", svg.path])
        XCTAssertEqual(p.waitForExit(timeout: 300), .exited(0), p.stderrLines.joined(separator: "\n"))
        p.waitForEndOfOutput()
        let out = p.stdoutLines.joined(separator: "\n")
        XCTAssertEqual(p.stdoutLines.filter { $0.hasSuffix("yes") }.count, 3, out)
        // Every host on every server: registrations cross every link, so messages grow as N².
        let line = try XCTUnwrap(p.stdoutLines.first { $0.hasPrefix("fitted growth") }, out)
        let exponent = try XCTUnwrap(Double(line.components(separatedBy: "messages ~ N^")[1].prefix { $0 != "," }), line)
        XCTAssertGreaterThan(exponent, 1.7, line)
        XCTAssertLessThan(exponent, 2.3, line)
        let drawn = try String(contentsOf: svg, encoding: .utf8)
        XCTAssertEqual(drawn.components(separatedBy: "<polyline").count - 1, 3)
    }
}
