import Foundation
import CRCProcess

/// `check --attach`: a network crc-cluster did not launch (servers on students' machines, or in
/// Kubernetes). It starts no server; it reaches each one where the topology says it listens,
/// reads `/state` where a server has a monitoring port, and brings its own clients.
extension ClusterRun {
    /// A server that runs elsewhere, once its port answers: observed through its /state when it
    /// has a monitor port, else through its clients.
    func attach(_ spec: ServerSpec) throws -> ServerNode {
        let name = spec.name
        guard let port = spec.port else {
            throw ClusterError("server '\(name)' has no port: to attach, every server needs host: and port: (and monitor: for its /state)")
        }
        let host = spec.host ?? "127.0.0.1"
        let address = try BlockingSocket.resolve(host)
        let reached = poll(until: Date().addingTimeInterval(options.settleTimeout)) {
            guard let fd = try? BlockingSocket.connect(host: address, port: port, timeout: 1) else { return false }
            close(fd)
            return true
        }
        guard reached else {
            throw ClusterError("cannot reach server '\(name)' at \(host):\(port) within \(options.settleTimeout) s: is it running, and listening on an address this machine can reach (crc-server --bind 0.0.0.0)?")
        }
        let placeholder = NodeProcess(name: name, executable: "(attached)", arguments: [])
        options.onProgress?("server \(name) reached at \(host):\(port)\(spec.monitor.map { ", monitor \($0)" } ?? ", no monitor: checked through its clients")")
        return ServerNode(process: placeholder, port: port, monitorPort: spec.monitor, logFile: logFile(name),
                          host: address, attached: true,
                          observer: spec.monitor.map { MonitorObserver(host: address, port: $0) } ?? ClientsOnlyObserver())
    }

    /// Steps that need the servers' processes cannot run against an attached network.
    func requireProcessControl(_ step: Step) throws {
        guard options.attach else { return }
        switch step {
        case .chat, .quit, .settle: return
        case .start(let n) where topology.client(named: n) != nil: return
        default:
            throw ClusterError("'\(step.summary)' needs control of the servers' processes or links, which crc-cluster does not have when attached; only chats, quits and starting its own clients can run")
        }
    }
}
