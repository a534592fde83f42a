import CRCCore
import Foundation
import CRCProcess

/// A scenario's steps carried out on the running network: `ScenarioInterpreter` says what each
/// step means for the model and asks this network for its effects on the processes and links.
extension ClusterRun: ScenarioNetwork {
    public func perform(_ step: Step) throws {
        try requireProcessControl(step)
        // Under a gate, a step's own waits (a node stopping, its clients leaving) need the
        // network to move: the gate decides while they last.
        try waitingOnNetwork { try ScenarioInterpreter.perform(step, on: self) }
    }

    /// Runs `body`, a wait on the network, with the gate (if any) told the launcher waits.
    func waitingOnNetwork<T>(_ body: () throws -> T) rethrows -> T {
        guard let gate = options.gate else { return try body() }
        return try gate.whileWaiting(body)
    }

    /// Starts every node that starts with the network (see `ScenarioInterpreter.launch`).
    public func launchAll() throws {
        try ScenarioInterpreter.launch(self)
    }

    public func began(_ step: Step?) {
        if let step { history.began(step, at: now) }
    }

    /// The network matches the model again (the checks found no difference): the step's mark.
    func noteConverged() { history.converged(at: now) }

    public func ended(_ step: Step?) throws {
        guard step == nil else { return }
        options.onPhase?("\(servers.count) servers ready, \(clients.count) clients registered")
    }

    public func isRunning(_ name: String) -> Bool {
        servers[name]?.process.isRunning ?? clients[name]?.isRunning ?? false
    }

    public func stop(_ name: String, killed: Bool) throws {
        let status: NodeProcess.ExitStatus?
        if let server = servers[name]?.process, server.isRunning {
            server.signal(killed ? SIGKILL : SIGTERM)
            status = server.waitForExit(timeout: options.settleTimeout)
        } else if let client = clients[name], client.isRunning {
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
    }

    public func quit(_ quit: QuitRecord, text: String) throws {
        guard let p = clients[quit.client] else { throw ClusterError("cannot quit '\(quit.client)': it is not running") }
        if racesNextStep, let gate = options.gate {
            gate.awaitCommand("step \(history.steps.count)", from: quit.client, what: "quit \(quit.client)", afterJoins: true)
        }
        var record = quit
        record.fromRecord = wire?.count ?? 0
        history.sent(record)
        let line = p.driver.quitLine(text: text)
        p.send(line)
        guard let status = p.waitForExit(timeout: options.settleTimeout) else {
            throw ClusterError("client '\(quit.client)' did not exit after quitting (it was sent \"\(line)\" on stdin)")
        }
        // Another implementation may end as it likes; crc-client must end cleanly.
        if p.driver.mustExitCleanly, status != .exited(0) { throw ClusterError("client '\(quit.client)' quit with \(status), expected exit 0") }
    }

    public func send(_ chat: ChatRecord) throws {
        guard let p = clients[chat.from] else { throw ClusterError("cannot chat from '\(chat.from)': it is not running") }
        var chat = chat
        if racesNextStep, let gate = options.gate {
            chat.raced = true
            gate.awaitCommand("step \(history.steps.count)", from: chat.from, what: "chat \(chat.from) → \(chat.to)", afterJoins: false)
        }
        chat.fromRecord = wire?.count ?? 0
        history.sent(chat)
        options.onProgress?("chat \(chat.expectedPath)")
        p.send(p.driver.chatLine(to: chat.destinationID, text: chat.text))
    }

    public func cut(_ link: String) throws { try faults.cut(link) }
    public func heal(_ link: String) throws { try faults.heal(link) }
    public func delay(_ link: String, ms: Int) throws { try faults.delay(link, ms: ms) }
    /// The links a step delays now, with the delay in ms (read under the console's lock).
    public var delayedLinks: [String: Int] { faults.delays }
}
