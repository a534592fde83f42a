import ArgumentParser
import CRCCluster
import Foundation
import CRCProcess

// MARK: - render

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a topology for another engine: Kubernetes manifests.",
        discussion: """
        --to kubernetes prints one YAML stream: per server a Pod (crc-server on 0.0.0.0:7000, \
        monitor 7001, its upstream by the upstream's Service DNS name, a TCP readiness probe) and \
        a headless Service; per client a Pod; a ConfigMap with the topology as check --attach \
        reads it; and a Job that runs crc-cluster check --attach in the cluster. The image must \
        hold crc-server, crc-client and crc-cluster (see the Dockerfile). Then:
          crc-cluster render --to kubernetes topologies/tree.yaml --image registry/crc:1 | kubectl apply -f -
          kubectl wait --for=condition=complete --timeout=5m job/crc-tree-check
        """)

    enum Target: String, CaseIterable, ExpressibleByArgument { case kubernetes }

    @Argument(help: "Topology file (YAML).") var file: String
    @Option(help: "What to render for.") var to: Target = .kubernetes
    @Option(help: "The container image holding crc-server, crc-client and crc-cluster.") var image = "crc:latest"
    @Option(help: "The namespace the manifests go in (Service DNS names include it).") var namespace = "default"
    @Option(help: "The cluster's DNS domain.") var clusterDomain = "cluster.local"
    @Option(help: "Seconds the check Job allows the network to settle.") var settleTimeout = 60
    @Option(name: .shortAndLong, help: "Write to this file instead of stdout.") var output: String?

    func validate() throws {
        let dns = namespace.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") } && !namespace.isEmpty && namespace.count <= 63
        guard dns else { throw ValidationError("--namespace must be a DNS label: lowercase letters, digits and '-', at most 63") }
        guard settleTimeout > 0 else { throw ValidationError("--settle-timeout must be positive") }
    }

    func run() throws {
        let topology = try loadOrExit(file)
        let text = KubernetesRender.render(topology, options: .init(image: image, namespace: namespace, clusterDomain: clusterDomain,
                                                                    settleTimeout: settleTimeout))
        if let output {
            do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                FileHandle.standardError.write(Data("crc-cluster: cannot write \(output): \(describeFileError(error))\n".utf8))
                throw ExitCode(1)
            }
        } else {
            print(text, terminator: "")
        }
    }
}
