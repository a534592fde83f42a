import CRCCore
import Foundation
import CRCProcess

/// A scenario's steps, carried out on the running network and applied to the model alike.
extension ClusterRun {
    // MARK: Steps

    public func perform(_ step: Step) throws {
        try requireProcessControl(step)
        history.began(step, at: now)
        switch step {
        case .settle:
            break
        case .start(let name):
            if topology.server(named: name) != nil { try startServers([name]) } else { try startClients([name]) }
        case .restart(let name):
            let running = servers[name]?.process.isRunning ?? clients[name]?.isRunning ?? false
            if running { try perform(.stop(name)) }
            try perform(.start(name))
        case .cut(let name):
            try faults.cut(name)
            model.cut(name)
        case .delay(let name, let ms):
            try faults.delay(name, ms: ms)
        case .heal(let name):
            try faults.heal(name)
            model.heal(name)
        case .stop(let name), .kill(let name):
            let killed: Bool
            if case .kill = step { killed = true } else { killed = false }
            let status: NodeProcess.ExitStatus?
            if let server = servers[name]?.process, server.isRunning {
                _ = model.stop(name, killed: killed)
                server.signal(killed ? SIGKILL : SIGTERM)
                status = server.waitForExit(timeout: options.settleTimeout)
            } else if let client = clients[name], client.isRunning {
                _ = model.stop(name, killed: killed)
                client.signal(killed ? SIGKILL : SIGTERM)
                status = client.waitForExit(timeout: options.settleTimeout)
            } else {
                throw ClusterError("cannot \(killed ? "kill" : "stop") '\(name)': it is not running")
            }
            guard let status else {
                throw ClusterError("'\(name)' did not stop within \(options.settleTimeout) s after \(killed ? "SIGKILL" : "SIGTERM")")
            }
            if !killed, status != .exited(0) { throw ClusterError("'\(name)' stopped with \(status), expected exit 0") }
            let orphans = topology.clients.filter { $0.server == name && model.status[$0.name] == .disconnected }.map(\.name)
            for o in orphans {
                if let c = clients[o], c.waitForExit(timeout: options.settleTimeout) == nil {
                    throw ClusterError("client '\(o)' kept running after its server '\(name)' went away")
                }
            }
        case .quit(let name, let text):
            guard let p = clients[name], p.isRunning else { throw ClusterError("cannot quit '\(name)': it is not running") }
            if let id = topology.client(named: name)?.id { history.sent(QuitRecord(client: name, sourceID: id, crossings: model.quitCrossings(of: name), fromRecord: wire?.count ?? 0)) }
            model.quit(name)
            let line = p.driver.quitLine(text: text)
            p.send(line)
            guard let status = p.waitForExit(timeout: options.settleTimeout) else {
                throw ClusterError("client '\(name)' did not exit after quitting (it was sent \"\(line)\" on stdin)")
            }
            // Another implementation may end as it likes; crc-client must end cleanly.
            if p.driver.mustExitCleanly, status != .exited(0) { throw ClusterError("client '\(name)' quit with \(status), expected exit 0") }
        case .chat(let from, let to, let text):
            guard let p = clients[from], p.isRunning else { throw ClusterError("cannot chat from '\(from)': it is not running") }
            let destination = UInt32(to) ?? topology.client(named: to)!.id
            let sender = topology.client(named: from)!
            let outcome = model.chat(from: from, to: to, text: text)
            let record = ChatRecord(from: from, sourceID: sender.id, to: to, destinationID: destination, text: text, outcome: outcome)
            history.sent(record)
            options.onProgress?("chat \(record.expectedPath)")
            p.send(p.driver.chatLine(to: destination, text: text))
        }
    }
}
