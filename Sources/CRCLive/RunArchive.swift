import CRCCluster
import Foundation

/// The runs under a logs folder (`logs/<run-id>/run.json` and `wire.jsonl`), for `serve`'s list and
/// for replays. Reads files only.
public struct RunArchive: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var file: String
        public var started: String
        /// nil: an `up` session, which has no verdict.
        public var passed: Bool?
        public var failedAt: String?
        public var seconds: Double
        public var chats: Int
        public var tapped: Bool

        enum CodingKeys: String, CodingKey { case id, name, file, started, passed, failedAt = "failed_at", seconds, chats, tapped }
    }

    /// Every run with a record, newest first; folders without one (older versions, crashes) are left out.
    public func list() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        var out: [Entry] = []
        for name in names where name != "latest" {
            guard let data = FileManager.default.contents(atPath: root.appendingPathComponent(name).appendingPathComponent("run.json").path),
                  let r = try? JSONDecoder().decode(RunRecord.self, from: data) else { continue }
            out.append(Entry(id: name, name: r.name, file: r.file, started: r.started, passed: r.passed, failedAt: r.failedAt,
                             seconds: r.seconds, chats: r.chats.count, tapped: r.tapped))
        }
        return out.sorted { ($0.started, $0.id) > ($1.started, $1.id) }
    }

    public func listJSON() -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(ListAnswer(root: root.path, runs: list()))) ?? Data("{}".utf8)
    }

    private struct ListAnswer: Encodable {
        var root: String
        var runs: [Entry]
    }

    /// One of a run's two files, or nil; `run` is a folder name, never a path.
    public func file(run: String, name: String) -> Data? {
        guard !run.isEmpty, !run.contains("/"), !run.hasPrefix("."), ["run.json", "wire.jsonl"].contains(name) else { return nil }
        return FileManager.default.contents(atPath: root.appendingPathComponent(run).appendingPathComponent(name).path)
    }
}
