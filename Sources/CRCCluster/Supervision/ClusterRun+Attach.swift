import Foundation
import CRCProcess

/// `check --attach`: a network crc-cluster did not launch (servers on students' machines, or in
/// Kubernetes). It starts no server; it reaches each one where the topology says it listens,
/// reads `/state` where a server has a monitoring port, and brings its own clients.
extension ClusterRun {
    func attachServers(_ names: [String]) throws {
        for name in names {
            let spec = topology.server(named: name)!
            guard let port = spec.port else {
                throw ClusterError("server '\(name)' has no port: to attach, every server needs host: and port: (and monitor: for its /state)")
            }
            let host = spec.host ?? "127.0.0.1"
            let deadline = Date().addingTimeInterval(options.settleTimeout)
            var reached = false
            repeat {
                if let fd = try? BlockingSocket.connect(host: try BlockingSocket.resolve(host), port: port, timeout: 1) {
                    close(fd)
                    reached = true
                } else {
                    usleep(50_000)
                }
            } while !reached && Date() < deadline
            guard reached else {
                throw ClusterError("cannot reach server '\(name)' at \(host):\(port) within \(options.settleTimeout) s: is it running, and listening on an address this machine can reach (crc-server --bind 0.0.0.0)?")
            }
            let placeholder = NodeProcess(name: name, executable: "(attached)", arguments: [])
            let address = try BlockingSocket.resolve(host)
            servers[name] = ServerNode(process: placeholder, port: port, monitorPort: spec.monitor, logFile: logFile(name),
                                       host: address, attached: true,
                                       observer: spec.monitor.map { MonitorObserver(host: address, port: $0) } ?? ClientsOnlyObserver())
            _ = model.start(name)
            options.onProgress?("server \(name) reached at \(host):\(port)\(spec.monitor.map { ", monitor \($0)" } ?? ", no monitor: checked through its clients")")
        }
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
