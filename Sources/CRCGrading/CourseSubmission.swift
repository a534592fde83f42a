import Foundation

/// A submission in the course's class form: a ChatServer.py (holding class CRCServer), found as
/// the file itself or in the folder named, with the course's starter module ChatMessageParser.py
/// beside it or in a starter folder. Checked before anything runs, so a TA hears at once what
/// is missing and what to supply.
public struct CourseSubmission: Sendable, Equatable {
    /// The submission's ChatServer.py, absolute.
    public let server: URL
    /// The starter folder given (absolute), if any.
    public let starter: URL?

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// `file`: ChatServer.py (class CRCServer) or ChatClient.py (class CRCClient).
    public init(path: String, starter: String? = nil, file fileName: String = "ChatServer.py") throws {
        let className = fileName == "ChatClient.py" ? "CRCClient" : "CRCServer"
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let given = URL(fileURLWithPath: path).standardizedFileURL
        guard fm.fileExists(atPath: given.path, isDirectory: &isDir) else {
            throw Problem(description: "\(path): no such file or folder (give a student's \(fileName), or the folder that holds it)")
        }
        let file = isDir.boolValue ? given.appendingPathComponent(fileName) : given
        guard fm.fileExists(atPath: file.path) else {
            throw Problem(description: "\(path): no \(fileName) in this folder (the course's class form is \(fileName) holding class \(className))")
        }
        var starterURL: URL?
        if let starter {
            let s = URL(fileURLWithPath: starter).standardizedFileURL
            guard fm.fileExists(atPath: s.path, isDirectory: &isDir), isDir.boolValue else {
                throw Problem(description: "--starter \(starter): no such folder")
            }
            starterURL = s
        }
        let folder = file.deletingLastPathComponent()
        let places = [folder] + (starterURL.map { [$0] } ?? [])
        guard places.contains(where: { fm.fileExists(atPath: $0.appendingPathComponent("ChatMessageParser.py").path) }) else {
            throw Problem(description: "\(file.path) imports the course's starter module ChatMessageParser, which is neither beside it"
                          + (starterURL.map { " nor in \($0.path)" } ?? "")
                          + ": supply ChatMessageParser.py (the course hands it out) beside ChatServer.py, or give its folder with --starter DIR")
        }
        self.server = file
        self.starter = starterURL
    }

    /// What the class host is given before the course's options.
    public var hostArguments: [String] {
        ["--submission", server.path] + (starter.map { ["--starter", $0.path] } ?? [])
    }

    /// Copies a submission's (or the starter's) folder to `target`, readable by everyone, and
    /// returns `target`. Only regular files and folders are copied, at most 64 MiB in all.
    public static func copyReadable(_ source: URL, to target: URL) throws -> URL {
        let fm = FileManager.default
        try? fm.removeItem(at: target)
        try fm.createDirectory(at: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var total = 0
        for case let rel as String in fm.enumerator(atPath: source.path) ?? NSEnumerator() {
            let from = source.appendingPathComponent(rel), to = target.appendingPathComponent(rel)
            let attributes = try fm.attributesOfItem(atPath: from.path)
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                try fm.createDirectory(at: to, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            case .typeRegular?:
                total += (attributes[.size] as? Int) ?? 0
                guard total <= 64 << 20 else { throw Problem(description: "\(source.path): more than 64 MiB of files; a submission is a few Python files") }
                try fm.copyItem(at: from, to: to)
                try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: to.path)
            default:
                continue  // links, sockets, devices: not part of a submission
            }
        }
        return target
    }
}
