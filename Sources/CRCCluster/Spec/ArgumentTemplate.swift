/// The arguments crc-cluster gives a node that runs another implementation (`command:`).
///
/// A template is a list of arguments in which `{placeholder}`s are replaced by the node's values.
/// An argument whose placeholder has no value (a root server has no upstream) is left out, and so
/// is the option just before it (`--connect_to_port {upstream_port}` disappears as a pair).
public enum ArgumentTemplate {
    /// Exactly the seed's server options.
    public static let seedServer = ["--id", "{id}", "--servername", "{name}", "--port", "{port}", "--info", "{info}",
                                    "--connect_to_host", "{upstream_host}", "--connect_to_port", "{upstream_port}",
                                    "--log-file", "{log_file}"]
    /// Exactly the seed's client options.
    public static let seedClient = ["--id", "{id}", "--serverhost", "{server_host}", "--serverport", "{server_port}",
                                    "--username", "{name}", "--info", "{info}", "--log-file", "{log_file}"]
    public static let serverPlaceholders = ["id", "name", "port", "info", "upstream_host", "upstream_port", "log_file"]
    public static let clientPlaceholders = ["id", "name", "info", "server_host", "server_port", "log_file"]

    public struct UnknownPlaceholder: Error, CustomStringConvertible {
        public var name: String
        public var known: [String]
        public var description: String { ArgumentTemplate.problem(in: ["{\(name)}"], known: known) ?? name }
    }

    /// The placeholders `argument` refers to.
    static func placeholders(in argument: String) -> [String] {
        var out: [String] = []
        var rest = Substring(argument)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return out
    }

    /// "unknown placeholder {x} (known: {id} {name} …)" when `template` uses one not in `known`.
    public static func problem(in template: [String], known: [String]) -> String? {
        let bad = unknown(in: template, known: known)
        guard !bad.isEmpty else { return nil }
        return "unknown placeholder \(bad.map { "{\($0)}" }.joined(separator: ", ")) (known: \(known.map { "{\($0)}" }.joined(separator: " ")))"
    }

    /// Every placeholder of `template` that is not one of `known`.
    public static func unknown(in template: [String], known: [String]) -> [String] {
        template.flatMap(placeholders).filter { !known.contains($0) }
    }

    public static func expand(_ template: [String], values: [String: String?], known: [String]) throws -> [String] {
        var out: [String] = []
        for argument in template {
            let names = placeholders(in: argument)
            if let bad = names.first(where: { !known.contains($0) }) { throw UnknownPlaceholder(name: bad, known: known) }
            if names.contains(where: { values[$0] == nil || values[$0]! == nil }) {
                // No value: drop it, and the option that introduces it.
                if let last = out.last, last.hasPrefix("-"), placeholders(in: last).isEmpty { out.removeLast() }
                continue
            }
            var expanded = argument
            for n in names { expanded = expanded.replacingOccurrences(of: "{\(n)}", with: values[n]!!) }
            out.append(expanded)
        }
        return out
    }
}
