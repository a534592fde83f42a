import CRCCore
import CRCContract

/// A topology as Kubernetes manifests. Pure: topology in, YAML out.
///
/// Per server: a Pod running crc-server (listening on 0.0.0.0:7000, monitor on 7001, its upstream
/// given by the upstream's Service DNS name) with a TCP readiness probe, and a headless Service
/// that gives it a stable name. Per client: a Pod running crc-client (stdin kept open). Then a
/// ConfigMap holding the topology as `check --attach` reads it (servers at their Services, the
/// clients as external), and a Job that runs `crc-cluster check --attach` against it, so
/// `kubectl apply -f - && kubectl wait --for=condition=complete job/…` is the whole test.
public enum KubernetesRender {
    public static let crcPort = 7000
    public static let monitorPort = 7001

    public struct Options: Sendable {
        public var image: String
        public var namespace: String
        public var clusterDomain: String
        public var settleTimeout: Int
        public init(image: String = "crc:latest", namespace: String = "default", clusterDomain: String = "cluster.local", settleTimeout: Int = 60) {
            self.image = image
            self.namespace = namespace
            self.clusterDomain = clusterDomain
            self.settleTimeout = settleTimeout
        }
    }

    /// A DNS-1035 label from a node's name: lowercase letters, digits and '-', starting with a
    /// letter, at most 63 characters; `prefix` keeps servers and clients apart.
    public static func label(_ name: String, prefix: String) -> String {
        var out = ""
        for ch in name.lowercased() {
            if ch.isASCII, ch.isLetter || ch.isNumber { out.append(ch) } else if out.last != "-" { out.append("-") }
        }
        while out.hasSuffix("-") { out.removeLast() }
        let full = prefix + (out.isEmpty ? "x" : out)
        return String(full.prefix(63)).trimmingTrailingDashes
    }

    /// The names the manifests give each node (unique: an id is appended on a clash).
    public static func names(_ t: Topology) -> (servers: [String: String], clients: [String: String]) {
        var used = Set<String>()
        func unique(_ base: String, _ id: UInt32) -> String {
            var n = base
            if used.contains(n) { n = String(base.prefix(52)).trimmingTrailingDashes + "-\(id)" }
            used.insert(n)
            return n
        }
        var servers: [String: String] = [:], clients: [String: String] = [:]
        for s in t.servers where s.refused != true { servers[s.name] = unique(label(s.name, prefix: "crc-s-"), s.id) }
        for c in t.clients where c.refused != true { clients[c.name] = unique(label(c.name, prefix: "crc-c-"), c.id) }
        return (servers, clients)
    }

    public static func serviceHost(_ service: String, _ o: Options) -> String { "\(service).\(o.namespace).svc.\(o.clusterDomain)" }

    public static func render(_ t: Topology, options o: Options = Options()) -> String {
        let (serverNames, clientNames) = names(t)
        let part = label(t.displayName, prefix: "").isEmpty ? "crc" : label(t.displayName, prefix: "")
        func labels(_ node: String, _ role: String) -> JSONValue {
            .object(["app.kubernetes.io/name": "crc", "app.kubernetes.io/part-of": .string(part),
                     "app.kubernetes.io/component": .string(role), "crc.node": .string(node)])
        }
        func meta(_ name: String, _ node: String, _ role: String) -> JSONValue {
            .object(["name": .string(name), "namespace": .string(o.namespace), "labels": labels(node, role)])
        }
        var docs: [JSONValue] = []
        for s in t.servers where s.refused != true {
            let name = serverNames[s.name]!
            var args: [JSONValue] = ["--id", .string("\(s.id)"), "--servername", .string(s.name), "--info", .string(s.info ?? ""),
                                     "--port", .string("\(crcPort)"), "--bind", "0.0.0.0", "--monitor-port", .string("\(monitorPort)")]
            if let up = s.upstream, let upName = serverNames[up] {
                args += ["--connect_to_host", .string(serviceHost(upName, o)), "--connect_to_port", .string("\(crcPort)")]
            }
            docs.append(.object([
                "apiVersion": "v1", "kind": "Service", "metadata": meta(name, name, "server"),
                "spec": .object([
                    "clusterIP": "None", "publishNotReadyAddresses": true,
                    "selector": .object(["crc.node": .string(name)]),
                    "ports": .array([
                        .object(["name": "crc", "port": .int(crcPort), "targetPort": .int(crcPort), "protocol": "TCP"]),
                        .object(["name": "monitor", "port": .int(monitorPort), "targetPort": .int(monitorPort), "protocol": "TCP"]),
                    ]),
                ]),
            ]))
            docs.append(.object([
                "apiVersion": "v1", "kind": "Pod", "metadata": meta(name, name, "server"),
                "spec": .object([
                    "restartPolicy": "Always",
                    "containers": .array([.object([
                        "name": "crc-server", "image": .string(o.image), "command": ["crc-server"], "args": .array(args),
                        "ports": .array([.object(["name": "crc", "containerPort": .int(crcPort), "protocol": "TCP"]),
                                         .object(["name": "monitor", "containerPort": .int(monitorPort), "protocol": "TCP"])]),
                        "readinessProbe": .object(["tcpSocket": .object(["port": .int(crcPort)]), "periodSeconds": 2, "initialDelaySeconds": 1]),
                        "resources": .object(["requests": .object(["cpu": "50m", "memory": "32Mi"]), "limits": .object(["memory": "256Mi"])]),
                    ])]),
                ]),
            ]))
        }
        for c in t.clients where c.refused != true {
            guard let serverName = serverNames[c.server] else { continue }
            let name = clientNames[c.name]!
            docs.append(.object([
                "apiVersion": "v1", "kind": "Pod", "metadata": meta(name, name, "client"),
                "spec": .object([
                    "restartPolicy": "Always",
                    "containers": .array([.object([
                        "name": "crc-client", "image": .string(o.image), "command": ["crc-client"], "stdin": true,
                        "args": .array(["--id", .string("\(c.id)"), "--serverhost", .string(serviceHost(serverName, o)),
                                        "--serverport", .string("\(crcPort)"), "--username", .string(c.name), "--info", .string(c.info ?? "")]),
                        "resources": .object(["requests": .object(["cpu": "10m", "memory": "16Mi"]), "limits": .object(["memory": "128Mi"])]),
                    ])]),
                ]),
            ]))
        }
        let configName = label("\(part)-topology", prefix: "crc-")
        let jobName = label("\(part)-check", prefix: "crc-")
        docs.append(.object([
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(configName, configName, "check"),
            "data": .object(["topology.yaml": .string(attachTopology(t, names: serverNames, options: o))]),
        ]))
        docs.append(.object([
            "apiVersion": "batch/v1", "kind": "Job", "metadata": meta(jobName, jobName, "check"),
            "spec": .object([
                "backoffLimit": 2,
                "template": .object([
                    "metadata": .object(["labels": labels(jobName, "check")]),
                    "spec": .object([
                        "restartPolicy": "Never",
                        "containers": .array([.object([
                            "name": "check", "image": .string(o.image), "command": ["crc-cluster"],
                            "args": .array(["check", "/etc/crc/topology.yaml", "--attach", "--logs", "/tmp/crc-logs",
                                            "--settle-timeout", .string("\(o.settleTimeout)")]),
                            "volumeMounts": .array([.object(["name": "topology", "mountPath": "/etc/crc", "readOnly": true])]),
                        ])]),
                        "volumes": .array([.object(["name": "topology", "configMap": .object(["name": .string(configName)])])]),
                    ]),
                ]),
            ]),
        ]))
        var out = "# Rendered by crc-cluster render --to kubernetes from \(t.file).\n"
        out += "# kubectl apply -f THIS && kubectl wait --for=condition=complete --timeout=5m job/\(jobName) -n \(o.namespace)\n"
        for d in docs { out += "---\n" + YAMLWriter.write(d) }
        return out
    }

    /// The topology as the check Job reads it: servers at their Services, clients running elsewhere.
    static func attachTopology(_ t: Topology, names: [String: String], options o: Options) -> String {
        func q(_ s: String) -> String { JSONValue.string(s).text }
        var out = "name: \(q(t.displayName))\nservers:\n"
        for s in t.servers where s.refused != true {
            out += "  - {id: \(s.id), name: \(q(s.name)), info: \(q(s.info ?? ""))"
            if let up = s.upstream { out += ", upstream: \(q(up))" }
            out += ", host: \(q(serviceHost(names[s.name]!, o))), port: \(crcPort), monitor: \(monitorPort)}\n"
        }
        let clients = t.clients.filter { $0.refused != true && names[$0.server] != nil }
        if !clients.isEmpty {
            out += "clients:\n"
            for c in clients { out += "  - {id: \(c.id), name: \(q(c.name)), info: \(q(c.info ?? "")), server: \(q(c.server)), external: true}\n" }
        }
        return out
    }
}

/// Block-style YAML for a JSON-like value: objects as `key: value` (keys sorted), arrays as
/// `- item`, strings double-quoted (JSON escapes are YAML escapes) unless plainly safe.
enum YAMLWriter {
    static func write(_ v: JSONValue) -> String {
        var out = ""
        emit(v, indent: 0, into: &out)
        return out
    }

    static func scalar(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return plainSafe(s) ? s : JSONValue.string(s).text
        case .int(let i): return String(i)
        case .double(let d): return "\(d)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a) where a.isEmpty: return "[]"
        case .object(let o) where o.isEmpty: return "{}"
        default: return nil
        }
    }

    /// A string YAML reads back as the same string without quotes.
    static func plainSafe(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, !s.hasSuffix(" ") else { return false }
        let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"]
        if reserved.contains(s.lowercased()) || Double(s) != nil { return false }
        guard first.properties.isAlphabetic || first == "/" || first == "." else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_./=".unicodeScalars.contains($0)) }
    }

    static func emit(_ v: JSONValue, indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        switch v {
        case .object(let o):
            for key in o.keys.sorted() {
                let value = o[key]!
                let k = plainSafe(key) ? key : JSONValue.string(key).text
                if let s = scalar(value) {
                    out += "\(pad)\(k): \(s)\n"
                } else {
                    out += "\(pad)\(k):\n"
                    emit(value, indent: indent + 2, into: &out)
                }
            }
        case .array(let a):
            for item in a {
                if let s = scalar(item) {
                    out += "\(pad)- \(s)\n"
                } else {
                    var nested = ""
                    emit(item, indent: indent + 2, into: &nested)
                    // The first line of the nested block carries the dash.
                    out += pad + "- " + nested.dropFirst(indent + 2)
                }
            }
        default:
            out += pad + (scalar(v) ?? "") + "\n"
        }
    }
}

extension String {
    var trimmingTrailingDashes: String {
        var s = self
        while s.hasSuffix("-") { s.removeLast() }
        return s
    }
}
