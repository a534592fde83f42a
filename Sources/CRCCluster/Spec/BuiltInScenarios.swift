import CRCExamples

/// The topologies/ folder as it travels inside crc-cluster: a path that names no file or folder
/// on disk is looked up here, so `crc-cluster up topologies/tree.yaml` and `grade` (which runs
/// topologies/seed and topologies/conformance) work from any folder. A file on disk always wins.
public enum BuiltInScenarios {
    /// Every built-in file, by its path below topologies/.
    public static var all: [BuiltInFile] { BuiltInFiles.all }

    /// `path` as a key below topologies/: "./topologies/seed/" and "seed" both name "seed".
    static func key(_ path: String) -> String {
        var p = Substring(path)
        while p.hasPrefix("./") { p = p.dropFirst(2) }
        while p.hasSuffix("/") { p = p.dropLast() }
        if p == "topologies" { return "" }
        if p.hasPrefix("topologies/") { p = p.dropFirst("topologies/".count) }
        return String(p)
    }

    /// The built-in file that `path` names, if any.
    public static func file(_ path: String) -> BuiltInFile? {
        let k = key(path)
        return all.first { $0.path == k }
    }

    /// The built-in scenario files under the folder that `path` names (nil when it names none),
    /// each spelled as `path` followed by its place below that folder, so that `file(_:)` finds it.
    public static func folder(_ path: String) -> [String]? {
        let k = key(path)
        let prefix = k.isEmpty ? "" : k + "/"
        let below = all.filter { $0.path.hasPrefix(prefix) }.map { String($0.path.dropFirst(prefix.count)) }
        guard !below.isEmpty, file(path) == nil else { return nil }
        var base = path
        while base.hasSuffix("/") { base.removeLast() }
        return below.sorted().map { base + "/" + $0 }
    }
}
