import ArgumentParser
import CRCCluster
import CRCGrading
import CRCProcess
import Foundation

/// The course's class form made runnable: crc-cluster's class host written into the logs folder,
/// and each submission (and the starter files) copied beside it, readable by the sandbox's
/// unprivileged user. The originals are never run or changed. `grade` and `explore` share it.
struct ClassHostSetup {
    let python: String
    let host: URL
    let copies: URL
    let starterCopy: URL?
    let starter: String?

    init(logs: String, starter: String?) throws {
        host = URL(fileURLWithPath: logs).appendingPathComponent(ClassHost.fileName)
        do {
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            try ClassHost.source.write(to: host, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write the class host into \(logs): \(describeFileError(error)) (choose another folder with --logs)")
        }
        python = Sandbox.othersCanReach("/usr/bin/python3", execute: true) ? "/usr/bin/python3" : "python3"
        copies = URL(fileURLWithPath: logs).appendingPathComponent("submissions")
        self.starter = starter
        starterCopy = try starter.map { try CourseSubmission.copyReadable(URL(fileURLWithPath: $0), to: URL(fileURLWithPath: logs).appendingPathComponent("starter")) }
    }

    /// The submission at `path` copied as `student`'s: its ChatServer.py, and the command that runs it.
    func prepare(_ path: String, as student: String) throws -> (original: URL, command: [String]) {
        let original = try CourseSubmission(path: path, starter: starter)
        let folder = try CourseSubmission.copyReadable(original.server.deletingLastPathComponent(), to: copies.appendingPathComponent(student))
        let submission = try CourseSubmission(path: folder.path, starter: starterCopy?.path)
        return (original.server, [python, host.path] + submission.hostArguments)
    }

    /// The name a submission is graded under: the folder holding its ChatServer.py.
    static func student(of path: String, starter: String?) throws -> String {
        try CourseSubmission(path: path, starter: starter).server.deletingLastPathComponent().lastPathComponent
    }
}
