import CRCProcess

/// What a scenario's steps act on: the processes of a run (`ClusterRun`, for `test`, `grade`,
/// `check`, `up` and its console) or the in-memory simulation (`SimulationRunner`). A network
/// only carries steps out; what each step means for the expected state is the interpreter's.
protocol ScenarioNetwork: AnyObject {
    var topology: Topology { get }
    /// The expected state, which the interpreter updates as it goes.
    var model: NetworkModel { get set }

    /// Whether `name` is running now (a stop or restart acts on a running node only).
    func isRunning(_ name: String) -> Bool
    /// Starts servers whose upstreams serve (one wave, at once), or clients, and waits until each
    /// is as `expected` (the model's status for it: live, or refused).
    func startServers(_ names: [String], expected: [NetworkModel.Status]) throws
    func startClients(_ names: [String], expected: [NetworkModel.Status]) throws
    /// Stops (SIGTERM) or kills (SIGKILL) a running node; the model already knows.
    func stop(_ name: String, killed: Bool) throws
    /// Sends a chat the model has routed (`chat.outcome`).
    func send(_ chat: ChatRecord) throws
    /// Makes a client quit; the model has counted the crossings its quit must make.
    func quit(_ quit: QuitRecord, text: String) throws
    func cut(_ link: String) throws
    func heal(_ link: String) throws
    func delay(_ link: String, ms: Int) throws
    /// A step (or the start of the network, `nil`) is about to be carried out / has been.
    func began(_ step: Step?)
    func ended(_ step: Step?) throws
}

extension ScenarioNetwork {
    func began(_ step: Step?) {}
    func ended(_ step: Step?) throws {}
}

/// A scenario's meaning, once: the order nodes start in, and what each step does to the model and
/// asks of the network. `ClusterRun.perform` and `SimulationRunner` both go through it.
enum ScenarioInterpreter {
    /// Starts every node that starts with the network: servers by depth (upstreams first, each
    /// depth at once), then clients, then the nodes that are expected to be refused, one by one.
    static func launch(_ network: some ScenarioNetwork) throws {
        let t = network.topology
        let initialServers = t.servers.filter { $0.start ?? true }
        let depths = t.depths
        let waves = Dictionary(grouping: initialServers.filter { !($0.refused ?? false) }) { depths[$0.name] ?? 0 }
        network.began(nil)
        for depth in waves.keys.sorted() {
            try startServers(waves[depth]!.map(\.name), on: network)
        }
        let initialClients = t.clients.filter { $0.start ?? true }
        try startClients(initialClients.filter { !($0.refused ?? false) }.map(\.name), on: network)
        try network.ended(nil)
        for s in initialServers where s.refused ?? false {
            try startServers([s.name], on: network)
            try network.ended(nil)
        }
        for c in initialClients where c.refused ?? false {
            try startClients([c.name], on: network)
            try network.ended(nil)
        }
    }

    /// One step: the model first, then the network.
    static func perform(_ step: Step, on network: some ScenarioNetwork) throws {
        network.began(step)
        try apply(step, on: network)
        try network.ended(step)
    }

    static func startServers(_ names: [String], on network: some ScenarioNetwork) throws {
        guard !names.isEmpty else { return }
        try network.startServers(names, expected: names.map { network.model.start($0) })
    }

    static func startClients(_ names: [String], on network: some ScenarioNetwork) throws {
        guard !names.isEmpty else { return }
        try network.startClients(names, expected: names.map { network.model.start($0) })
    }

    static func apply(_ step: Step, on network: some ScenarioNetwork) throws {
        let t = network.topology
        switch step {
        case .settle:
            break
        case .start(let name):
            if t.server(named: name) != nil { try startServers([name], on: network) } else { try startClients([name], on: network) }
        case .restart(let name):
            if network.isRunning(name) { try apply(.stop(name), on: network) }
            try apply(.start(name), on: network)
        case .stop(let name), .kill(let name):
            var killed = false
            if case .kill = step { killed = true }
            guard network.isRunning(name) else { throw ClusterError("cannot \(killed ? "kill" : "stop") '\(name)': it is not running") }
            _ = network.model.stop(name, killed: killed)
            try network.stop(name, killed: killed)
        case .cut(let link):
            try network.cut(link)
            network.model.cut(link)
        case .heal(let link):
            try network.heal(link)
            network.model.heal(link)
        case .delay(let link, let ms):
            try network.delay(link, ms: ms)
        case .quit(let name, let text):
            guard let spec = t.client(named: name), network.isRunning(name) else { throw ClusterError("cannot quit '\(name)': it is not running") }
            let record = QuitRecord(client: name, sourceID: spec.id, crossings: network.model.quitCrossings(of: name), fromRecord: 0)
            network.model.quit(name)
            try network.quit(record, text: text)
        case .chat(let from, let to, let text):
            guard let sender = t.client(named: from), network.isRunning(from) else { throw ClusterError("cannot chat from '\(from)': it is not running") }
            let destination = UInt32(to) ?? t.client(named: to)?.id ?? 0
            let outcome = network.model.chat(from: from, to: to, text: text)
            try network.send(ChatRecord(from: from, sourceID: sender.id, to: to, destinationID: destination, text: text, outcome: outcome))
        }
    }
}
