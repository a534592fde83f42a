import CRCContract
import CRCProcess
import Foundation

/// `relay --generator python`: the same network driven by scripts/pyload.py, a plain Python client.
extension Relay {
    /// One run of scripts/pyload.py against the network's two ends.
    func pyload(_ network: BenchNetwork, pings: Int) throws -> [String: JSONValue] {
        let p = NodeProcess(name: "pyload", executable: "/usr/bin/env", arguments: [
            "python3", pythonScript, "--protocol", peer.rawValue, "--send-port", "\(network.ports.first!)", "--recv-port", "\(network.ports.last!)",
            "--messages", "\(messages)", "--pings", "\(pings)", "--size", "\(size)", "--gap-us", "\(gapUs)",
        ])
        try p.start()
        guard p.waitForExit(timeout: 600) == .exited(0) else {
            p.stop(grace: 1)
            throw ClusterError("scripts/pyload.py failed: \(p.stderrLines.suffix(3).joined(separator: " | "))")
        }
        p.waitForEndOfOutput()
        guard let line = p.stdoutLines.last, let data = line.data(using: .utf8),
              let fields = try? JSONDecoder().decode([String: JSONValue].self, from: data) else {
            throw ClusterError("scripts/pyload.py printed no result: \(p.stdoutLines.suffix(2))")
        }
        return fields
    }
}
