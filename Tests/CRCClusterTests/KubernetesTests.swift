import CRCCluster
import Foundation
import XCTest
import CRCProcess

/// `render --to kubernetes`: nothing here can reach a cluster, so the manifests are checked
/// offline, for their schema (kubernetes-validate --strict) and their meaning (every upstream
/// name is a rendered Service, ports agree, ids are unique, the check Job's topology loads).
final class KubernetesTests: ClusterTestCase {
    func topologies() throws -> [(String, Topology)] {
        let tree = try TopologyLoader.load(path: Self.root.appendingPathComponent("topologies/tree.yaml").path)
        let big = try TopologyLoader.parse(TopologyGenerator.yaml(servers: 100, clients: 150, shape: .balanced, seed: 7), file: "generated-100")
        return [("tree", tree), ("generated-100", big)]
    }

    /// The value at `path` in a YAML mapping (keys, or list indexes as Int).
    func value(_ node: YAMLNode, _ path: [Any]) -> YAMLNode? {
        var cur = node
        for step in path {
            if let k = step as? String, case .mapping(let pairs, _) = cur, let v = pairs.first(where: { $0.key == k })?.value { cur = v }
            else if let i = step as? Int, case .sequence(let items, _) = cur, i < items.count { cur = items[i] }
            else { return nil }
        }
        return cur
    }

    func text(_ node: YAMLNode?) -> String? { if case .scalar(let s, _, _)? = node { return s }; return nil }
    func list(_ node: YAMLNode?) -> [String] {
        guard case .sequence(let items, _)? = node else { return [] }
        return items.compactMap { text($0) }
    }

    func testRenderedManifestsMeanWhatTheTopologySays() throws {
        for (label, topology) in try topologies() {
            let yaml = KubernetesRender.render(topology)
            let docs = try yaml.components(separatedBy: "\n---\n").dropFirst().map { try YAMLParser.parse($0, file: label) }
            func kind(_ k: String) -> [YAMLNode] { docs.filter { text(value($0, ["kind"])) == k } }
            let services = Set(kind("Service").compactMap { text(value($0, ["metadata", "name"])) })
            let pods = kind("Pod")
            XCTAssertEqual(services.count, topology.servers.count, label)
            XCTAssertEqual(pods.count, topology.servers.count + topology.clients.count, label)
            var ids = Set<String>()
            for pod in pods {
                let args = list(value(pod, ["spec", "containers", 0, "args"]))
                let id = try XCTUnwrap(args.firstIndex(of: "--id").map { args[$0 + 1] }, label)
                XCTAssertTrue(ids.insert(id).inserted, "\(label): id \(id) twice")
                // Every host a node dials is a rendered Service's DNS name, on the CRC port.
                for (hostFlag, portFlag) in [("--connect_to_host", "--connect_to_port"), ("--serverhost", "--serverport")] {
                    guard let i = args.firstIndex(of: hostFlag) else { continue }
                    let host = args[i + 1]
                    XCTAssertTrue(host.hasSuffix(".default.svc.cluster.local"), host)
                    XCTAssertTrue(services.contains(String(host.prefix { $0 != "." })), "\(label): \(host) is not a rendered Service")
                    XCTAssertEqual(args.firstIndex(of: portFlag).map { args[$0 + 1] }, "7000", label)
                }
                if text(value(pod, ["metadata", "labels", "app.kubernetes.io/component"])) == "server" {
                    XCTAssertEqual(text(value(pod, ["spec", "containers", 0, "readinessProbe", "tcpSocket", "port"])), "7000")
                    XCTAssertEqual(text(value(pod, ["spec", "containers", 0, "ports", 0, "containerPort"])), "7000")
                    XCTAssertEqual(args.firstIndex(of: "--bind").map { args[$0 + 1] }, "0.0.0.0")
                }
            }
            XCTAssertEqual(ids.count, topology.servers.count + topology.clients.count)
            // Each Service selects exactly its server's Pod.
            for svc in kind("Service") {
                let selector = text(value(svc, ["spec", "selector", "crc.node"]))
                XCTAssertEqual(pods.filter { text(value($0, ["metadata", "labels", "crc.node"])) == selector }.count, 1, label)
                XCTAssertEqual(text(value(svc, ["spec", "clusterIP"])), "None")
            }
            // The check Job attaches to the topology the ConfigMap holds, which loads and names every server.
            let job = try XCTUnwrap(kind("Job").first)
            XCTAssertEqual(Array(list(value(job, ["spec", "template", "spec", "containers", 0, "args"])).prefix(3)), ["check", "/etc/crc/topology.yaml", "--attach"])
            let held = try XCTUnwrap(text(value(try XCTUnwrap(kind("ConfigMap").first), ["data", "topology.yaml"])))
            let attached = try TopologyLoader.parse(held, file: "configmap")
            XCTAssertEqual(attached.servers.map(\.name), topology.servers.map(\.name))
            XCTAssertEqual(attached.servers.map(\.upstream), topology.servers.map(\.upstream))
            XCTAssertTrue(attached.clients.allSatisfy { $0.external == true })
        }
    }

    static func kubernetesValidate() -> String? {
        if let v = ProcessInfo.processInfo.environment["CRC_KUBERNETES_VALIDATE"] { return v }
        let candidates = ["/opt/crc-venv/bin/kubernetes-validate", "/usr/local/bin/kubernetes-validate", "/usr/bin/kubernetes-validate"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func testKubernetesValidateStrictAcceptsEveryDocument() throws {
        try requireTool(Self.kubernetesValidate() != nil, "kubernetes-validate")
        let validator = Self.kubernetesValidate()!
        for (label, _) in try topologies() {
            let file = tmp.appendingPathComponent("\(label).yaml")
            let args: [String]
            if label == "tree" {
                args = ["render", "--to", "kubernetes", "topologies/tree.yaml", "--image", "registry.example/crc:1", "--output", file.path]
            } else {
                let source = tmp.appendingPathComponent("big.yaml")
                try TopologyGenerator.yaml(servers: 100, clients: 150, shape: .balanced, seed: 7).write(to: source, atomically: true, encoding: .utf8)
                args = ["render", "--to", "kubernetes", source.path, "--namespace", "crc-lab", "--output", file.path]
            }
            let r = try cluster(args)
            XCTAssertEqual(r.waitForExit(timeout: 60), .exited(0), r.stderrLines.joined(separator: "\n"))
            let v = NodeProcess(name: "kubernetes-validate", executable: validator, arguments: ["--strict", "--quiet", file.path])
            processes.append(v)
            try v.start()
            XCTAssertEqual(v.waitForExit(timeout: 120), .exited(0), "\(label): \((v.stdoutLines + v.stderrLines).joined(separator: "\n"))")
        }
    }
}
