import Dispatch
import NIOConcurrencyHelpers
import CRCCore
import CRCProtocol
import CRCProcess

/// What `crc-cluster simulate` found: the traffic, the tables, and whether every node ended as
/// the model says.
public struct SimulationReport: Sendable {
    public var servers: Int
    public var clients: Int
    public var messages: Int
    /// Deliveries by message type, largest first.
    public var byType: [(type: String, count: Int)]
    /// The busiest links (one direction each), largest first.
    public var busiest: [(link: String, count: Int)]
    /// Host entries summed over every server, and the smallest and largest table.
    public var hostEntries: Int
    public var minHosts: Int
    public var maxHosts: Int
    public var differences: [Difference]
    public var verified: Bool
}

/// Runs a topology through the pure server and client cores in one process (no sockets, no
/// clocks), deterministically, and checks the end state against `NetworkModel`, the oracle
/// `test` uses. Steps that need links or processes run as in the model: start, stop, kill,
/// restart, chat, quit, settle; link faults (cut, delay, heal) need crc-cluster's relays and are refused.
public enum SimulationRunner {
    /// The in-memory network a scenario runs on: every step's messages are delivered before the next.
    final class SimulatedNetwork: ScenarioNetwork {
        let topology: Topology
        var model: NetworkModel
        var sim: Simulation
        let progress: ((String) -> Void)?
        private var stepIndex = 0
        private var phase = 0

        init(topology: Topology, simulation: Simulation, progress: ((String) -> Void)?) {
            self.topology = topology
            self.model = NetworkModel(topology: topology)
            self.sim = simulation
            self.progress = progress
        }

        func isRunning(_ name: String) -> Bool { model.isLive(name) }

        func startServers(_ names: [String], expected: [NetworkModel.Status]) throws {
            for name in names {
                let s = topology.server(named: name)!
                sim.startServer(name: s.name, id: s.id, info: s.info ?? "", upstream: s.upstream)
            }
        }

        func startClients(_ names: [String], expected: [NetworkModel.Status]) throws {
            // Every server has joined before the first client starts, as with processes.
            if phase == 0 {
                sim.settle()
                progress?("\(topology.servers.filter { $0.start ?? true }.count) servers joined (\(sim.delivered) messages)")
                phase = 1
            }
            for name in names {
                let c = topology.client(named: name)!
                sim.startClient(name: c.name, id: c.id, info: c.info ?? "", server: c.server)
            }
        }

        func stop(_ name: String, killed: Bool) throws {
            if topology.server(named: name) != nil {
                if killed { sim.killServer(name) } else { sim.stopServer(name) }
            } else {
                sim.quit(client: name, text: "")
            }
        }

        func send(_ chat: ChatRecord) throws { sim.chat(from: chat.from, to: chat.destinationID, text: chat.text) }
        func quit(_ quit: QuitRecord, text: String) throws { sim.quit(client: quit.client, text: text) }

        func cut(_ link: String) throws { throw Self.needsRelays("cut") }
        func heal(_ link: String) throws { throw Self.needsRelays("heal") }
        func delay(_ link: String, ms: Int) throws { throw Self.needsRelays("delay") }
        static func needsRelays(_ what: String) -> ClusterError {
            ClusterError("simulate: '\(what)' is a link fault, which needs crc-cluster's relays; run this scenario with test")
        }

        func ended(_ step: Step?) throws {
            sim.settle()
            if let step {
                stepIndex += 1
                progress?("step \(stepIndex): \(step.summary)")
            } else if phase == 1 {
                progress?("clients registered (\(sim.delivered) messages)")
                phase = 2
            }
        }
    }

    /// `beforeChecking` changes the model's idea of the network just before the end state is
    /// checked (tests of the check itself). `freesMemory: false` leaves the simulation's memory
    /// to the end of the process (as compilers do with `-disable-free`): a command that exits
    /// right after would otherwise spend seconds freeing 12 GiB of tables one allocation at a
    /// time, which the exit returns at once.
    public static func run(_ t: Topology, verify: Bool = true, progress: ((String) -> Void)? = nil,
                           beforeChecking: ((inout NetworkModel) -> Void)? = nil,
                           freesMemory: Bool = true) throws -> SimulationReport {
        for step in t.steps where step.action.faultedLink != nil {
            throw ClusterError("simulate: '\(step.action.summary)' is a link fault, which needs crc-cluster's relays; run this scenario with test")
        }
        var sim = Simulation()
        sim.recordsEvents = false
        // Large rounds run on every core (the nodes of a round share nothing; the outcome does not
        // depend on it).
        sim.parallelFor = { n, body in DispatchQueue.concurrentPerform(iterations: n, execute: body) }
        let network = SimulatedNetwork(topology: t, simulation: sim, progress: progress)
        sim = Simulation()  // the network holds the only reference: its tables are not copied on write
        try ScenarioInterpreter.launch(network)
        for step in t.steps { try ScenarioInterpreter.perform(step.action, on: network) }
        sim = network.sim
        network.sim = Simulation()
        var model = network.model

        beforeChecking?(&model)
        var differences: [Difference] = []
        var entries = 0, minHosts = Int.max, maxHosts = 0
        // Tables are compared by size and fingerprint first (all servers in one pass of the
        // model); only a node whose fingerprint differs is compared entry by entry, which names
        // what differs.
        let serverSummaries = verify ? model.expectedServerSummaries() : [:]
        let liveServers = model.liveServers
        // Every table's size and fingerprint, on every core (tables are read only).
        var serverPrints: [(count: Int, print: UInt64)?] = []
        var clientPrints: [(count: Int, print: UInt64)?] = []
        do {
            let frozen = sim  // a reference to the same tables, gone at the end of this block
            serverPrints = fingerprints(liveServers.count) { i in
                frozen.server(named: liveServers[i]).map { ($0.hosts.count, $0.hosts.fingerprint) }
            }
            if verify {
                clientPrints = fingerprints(t.clients.count) { i in
                    frozen.client(named: t.clients[i].name).map { ($0.users.count, $0.users.fingerprint) }
                }
            }
        }
        for (position, name) in liveServers.enumerated() {
            guard let core = sim.server(named: name) else {
                differences.append(Difference(node: name, field: .process, detail: "the simulated server stopped: \(sim.failed[name] ?? "?")"))
                continue
            }
            entries += core.hosts.count
            minHosts = min(minHosts, core.hosts.count)
            maxHosts = max(maxHosts, core.hosts.count)
            guard verify, let summary = serverSummaries[name] else { continue }
            let override = t.expect[name]
            let sameTable = override?.hosts == nil && serverPrints[position]?.count == summary.hosts
                && serverPrints[position]?.print == summary.fingerprint
            if sameTable {
                let want = NetworkModel.ServerState(hosts: [:], adjacentServers: summary.adjacentServers,
                                                    adjacentClients: summary.adjacentClients, statusLog: [])
                let observed = ConvergenceChecker.ServerObservation(
                    hosts: [:], adjacentServers: Set(core.adjacentServers.keys),
                    adjacentClients: Set(core.adjacentClients.keys), statusLog: core.statusLog, firstMessages: [])
                differences += ConvergenceChecker.diff(server: name, expected: want, firstMessages: [], override: override, observed: observed)
            } else if let want = model.expectedServer(name) {
                let observed = ConvergenceChecker.ServerObservation(
                    hosts: core.hosts.firstLinks, adjacentServers: Set(core.adjacentServers.keys),
                    adjacentClients: Set(core.adjacentClients.keys), statusLog: core.statusLog, firstMessages: [])
                differences += ConvergenceChecker.diff(server: name, expected: want, firstMessages: [], override: override, observed: observed)
            }
        }
        if verify {
            let userSummaries = model.expectedUserSummaries()
            for (position, c) in t.clients.enumerated() {
                guard let summary = userSummaries[c.name], let logs = model.expectedClientLogs(c.name),
                      let state = sim.client(named: c.name) else { continue }
                let refused = model.status[c.name] == .refused
                let o = t.expect[c.name]
                var users: Set<UInt32> = []
                var want = NetworkModel.ClientState(users: [], statusLog: logs.statusLog, chatLog: logs.chatLog)
                let sameUsers = refused || (o?.users == nil && clientPrints[position]?.count == summary.users
                                            && clientPrints[position]?.print == summary.fingerprint)
                if !sameUsers, let full = model.expectedClient(c.name) {
                    want.users = full.users
                    users = Set(state.users.keys)
                }
                if let o {
                    if let u = o.users { want.users = Set(u) }
                    if let s = o.statusLog { want.statusLog = s }
                    if let l = o.chatLog { want.chatLog = l }
                }
                let observed = ConvergenceChecker.ClientObservation(users: users, statusLog: state.statusLog,
                                                                    chatLog: state.chatLog.map(\.text))
                differences += ConvergenceChecker.diff(client: c.name, expected: want, observed: observed)
            }
        }
        if verify { progress?("checked every server and client against the model") }
        var byType: [(String, Int)] = []
        for type in MessageType.allCases where sim.deliveredByType[Int(type.rawValue)] > 0 {
            byType.append(("\(type)", sim.deliveredByType[Int(type.rawValue)]))
        }
        func label(_ n: Simulation.Node) -> String {
            switch n { case .server(let s): return s; case .client(let c): return c }
        }
        let top = sim.loadByLink.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.prefix(5)
        let busiest = top.compactMap { item -> (String, Int)? in
            guard let ends = sim.linkEnds(item.offset) else { return nil }
            return ("\(label(ends.from)) → \(label(ends.to))", item.element)
        }
        if freesMemory {
            sim.discard()
        } else {
            _ = Unmanaged.passRetained(Kept(sim))  // never released
        }
        return SimulationReport(servers: t.servers.count, clients: t.clients.count, messages: sim.delivered,
                                byType: byType.sorted { $0.1 > $1.1 }, busiest: busiest,
                                hostEntries: entries, minHosts: minHosts == .max ? 0 : minHosts, maxHosts: maxHosts,
                                differences: differences, verified: verify)
    }

    /// `measure(i)` for i in 0..<n, on every core.
    private static func fingerprints(_ n: Int, _ measure: @escaping @Sendable (Int) -> (Int, UInt64)?)
        -> [(count: Int, print: UInt64)?] {
        let results = NIOLockedValueBox([(count: Int, print: UInt64)?](repeating: nil, count: n))
        let pieces = min(n, 64)
        DispatchQueue.concurrentPerform(iterations: pieces) { piece in
            var local: [(Int, (Int, UInt64))] = []
            for i in stride(from: piece, to: n, by: pieces) {
                if let r = measure(i) { local.append((i, r)) }
            }
            results.withLockedValue { all in for (i, r) in local { all[i] = (r.0, r.1) } }
        }
        return results.withLockedValue { $0 }
    }

    /// A simulation left alive on purpose until the process ends.
    private final class Kept: Sendable {
        let simulation: Simulation
        init(_ simulation: Simulation) { self.simulation = simulation }
    }
}
