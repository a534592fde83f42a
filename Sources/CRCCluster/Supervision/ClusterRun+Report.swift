import Foundation
import CRCProcess

/// `run.json` and `report.html`: what a run leaves for people to look at afterwards.
extension ClusterRun {
    /// The run as its report sees it; `passed` nil for an `up` session.
    public func record(passed: Bool?, failedAt: String? = nil, differences: [Difference] = [], error: String? = nil) -> RunRecord {
        let f = ISO8601DateFormatter()
        let chatsOut = history.chats.map { c in
            RunRecord.Chat(from: c.from, to: c.to, source: c.sourceID, destination: c.destinationID, text: c.text,
                           expected: c.expectedPath,
                           crossings: WireChecker.expectedCrossings(c, links: links).map { "\($0.link)/\($0.direction.rawValue)" })
        }
        return RunRecord(
            name: topology.displayName, file: topology.file, runID: runID, started: f.string(from: startedAt),
            servers: topology.servers.map { .init(id: $0.id, name: $0.name, upstream: $0.upstream, foreign: $0.program != .ours, refused: $0.refused ?? false) },
            clients: topology.clients.map { .init(id: $0.id, name: $0.name, server: $0.server, refused: $0.refused ?? false) },
            steps: history.steps, chats: chatsOut, passed: passed, failedAt: failedAt, differences: differences.map(\.description),
            error: error, tapped: wire != nil, seconds: Date().timeIntervalSince(startedAt))
    }

    /// Writes `run.json` and `report.html` into the run's folder; returns the report's path.
    @discardableResult
    public func writeReport(passed: Bool?, failedAt: String? = nil, differences: [Difference] = [], error: String? = nil) -> String {
        let rec = record(passed: passed, failedAt: failedAt, differences: differences, error: error)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let data = try? encoder.encode(rec) {
            FileManager.default.createFile(atPath: runDir.appendingPathComponent("run.json").path, contents: data)
        }
        let rows = (wire?.all ?? []).compactMap { r -> WireRow? in
            let (from, to) = links.ends(WireChecker.Crossing(r.link, r.direction))
            return r.row(from: from, to: to)
        }
        let path = runDir.appendingPathComponent("report.html").path
        FileManager.default.createFile(atPath: path, contents: Data(ReportHTML.render(rec, wire: rows).utf8))
        return path
    }

    /// Regenerates a run's report from its folder (`run.json` and `wire.jsonl`).
    public static func regenerateReport(in dir: URL) throws -> String {
        let runFile = dir.appendingPathComponent("run.json")
        guard let data = FileManager.default.contents(atPath: runFile.path) else {
            throw ClusterError("\(dir.path) has no run.json: is it a run's log folder (logs/<run-id>)? Runs before this version have none")
        }
        let rec: RunRecord
        do { rec = try JSONDecoder().decode(RunRecord.self, from: data) } catch {
            throw ClusterError("\(runFile.path) is not a run record: \(error)")
        }
        let rows = WireRow.read(dir.appendingPathComponent("wire.jsonl"))
        let path = dir.appendingPathComponent("report.html").path
        guard FileManager.default.createFile(atPath: path, contents: Data(ReportHTML.render(rec, wire: rows).utf8)) else {
            throw ClusterError("cannot write \(path)")
        }
        return path
    }
}
