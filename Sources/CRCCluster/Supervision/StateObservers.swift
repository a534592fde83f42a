import CRCContract
import CRCCore
import CRCProcess
import Foundation

/// How crc-cluster reads what one node knows. Each server and client gets its observer once, when
/// it is started or attached (our crc-server: its monitor endpoint; another implementation: the
/// wire; a server reached without a monitor port: nothing, its clients stand in), and a check is
/// then "every observer looks, then `ConvergenceChecker.diff`". A new kind of node brings a new
/// observer; the checking loop does not change.

/// What one round of checking shares between observers: the wire as recorded so far, the tree's
/// links, and the course servers' tolerated echoes (worked out once per round, and only if an
/// observer asks).
final class ObservationRound {
    let records: [WireRecord]
    let links: WireChecker.Links
    let profile: WireProfile
    /// "3 (elrond)": an id with its node's name, for messages.
    let label: @Sendable (UInt32) -> String
    lazy var echoes = WireChecker.tolerated(links: links, records: records)

    init(records: [WireRecord], links: WireChecker.Links, profile: WireProfile, label: @escaping @Sendable (UInt32) -> String) {
        self.records = records
        self.links = links
        self.profile = profile
        self.label = label
    }
}

/// What an observer saw of a node.
enum Look<Observation> {
    /// As expected, by a cheap look (a digest); nothing to compare.
    case matches
    /// What it knows, to compare with what it should know, and any differences the observer found
    /// itself (a course-style object's attributes against the model and the wire).
    case observed(Observation, notes: [Difference] = [])
    /// It could not be read; the difference says why.
    case failed(Difference)
}

/// What a server must know, as one observer needs it.
struct ServerWant {
    /// nil: no expectation, show the whole state (the console's `state` command).
    var state: NetworkModel.ServerState?
    var firstMessages: [String] = []
    /// Hand-written expectations in force (the final check): they need the whole state.
    var override: NodeExpectation? = nil
    var handWrittenFirstMessages: [String]? = nil

    /// Nothing expected: the whole state, whatever it is.
    static let everything = ServerWant(state: nil)
}

protocol ServerObserver: Sendable {
    func look(at server: String, want: ServerWant, round: ObservationRound) -> Look<ConvergenceChecker.ServerObservation>
}

/// Our crc-server: its digest (`GET /digest`) first, and its whole state (`GET /state`) only when
/// the digest differs or a hand-written expectation needs it.
struct MonitorObserver: ServerObserver {
    var host: String
    var port: Int

    func look(at server: String, want: ServerWant, round: ObservationRound) -> Look<ConvergenceChecker.ServerObservation> {
        let o = want.override
        let needsWhole = (o.map { $0.hosts != nil || $0.adjacentServers != nil || $0.adjacentClients != nil || $0.statusLog != nil } ?? false)
            || want.handWrittenFirstMessages != nil
        if !needsWhole, let expected = want.state, let d = try? MonitorClient.fetchDigest(host: host, port: port),
           d.hosts == expected.hosts.count, d.hostsDigest == hostsDigest(expected.hosts.map { ($0.key, $0.value) }),
           Set(d.adjacentServers) == expected.adjacentServers, Set(d.adjacentClients) == expected.adjacentClients,
           d.statusLog == expected.statusLog, d.firstMessages == want.firstMessages.sorted() {
            return .matches
        }
        let state: ServerSnapshot
        do { state = try MonitorClient.fetchState(host: host, port: port) } catch {
            return .failed(Difference(node: server, field: .state, detail: "cannot read /state: \(error)"))
        }
        let firsts = state.links.filter { $0.direction == "inbound" && $0.peerKind == "server" }.compactMap(\.firstMessageHex)
        return .observed(.init(hosts: Dictionary(state.hosts.map { ($0.id, $0.firstLink) }, uniquingKeysWith: { a, _ in a }),
                               adjacentServers: Set(state.adjacentServers), adjacentClients: Set(state.adjacentClients),
                               statusLog: state.statusLog, firstMessages: firsts))
    }
}

/// Another implementation's server: its table as what reached it over its tapped links implies it.
struct WireServerObserver: ServerObserver {
    func look(at server: String, want: ServerWant, round: ObservationRound) -> Look<ConvergenceChecker.ServerObservation> {
        .observed(WireChecker.observeServer(server, links: round.links, records: round.records, profile: round.profile, echoes: round.echoes))
    }
}

/// A course-style server class hosted by crc-cluster's class host: the wire stays the primary
/// evidence, and the object's four graded attributes, read from the host's state port, are checked
/// beside it, in the course's words, each saying whether the wire agrees.
struct CourseClassObserver: ServerObserver {
    var statePort: Int

    func look(at server: String, want: ServerWant, round: ObservationRound) -> Look<ConvergenceChecker.ServerObservation> {
        let wire = WireChecker.observeServer(server, links: round.links, records: round.records, profile: round.profile, echoes: round.echoes)
        let attributes: CourseAttributes
        do {
            let line = try BlockingSocket.request(port: statePort, line: "state", timeout: 5)
            attributes = try JSONDecoder().decode(CourseAttributes.self, from: Data(line.utf8))
        } catch {
            return .failed(Difference(node: server, field: .state, detail: "cannot read the object's attributes from the class host: \(error)"))
        }
        if let traceback = attributes.error {
            return .failed(Difference(node: server, field: .process, detail: "its run() raised an exception:\n\(traceback)"))
        }
        guard let expected = want.state else {
            // The console: show what the object holds.
            return .observed(.init(hosts: Dictionary(attributes.hostsDB.map { ($0.id, $0.firstLink ?? 0) }, uniquingKeysWith: { a, _ in a }),
                                   adjacentServers: Set(attributes.adjacentServerIDs), adjacentClients: Set(attributes.adjacentUserIDs),
                                   statusLog: attributes.statusUpdatesLog, firstMessages: wire.firstMessages))
        }
        var state = expected
        if let hosts = want.override?.hosts { state.hosts = Dictionary(uniqueKeysWithValues: hosts.map { ($0, state.hosts[$0] ?? 0) }) }
        if let a = want.override?.adjacentServers { state.adjacentServers = Set(a) }
        if let a = want.override?.adjacentClients { state.adjacentClients = Set(a) }
        if let s = want.override?.statusLog { state.statusLog = s }
        // The statuses the course profile forgives on the wire (answers to harmless echoes) are
        // forgiven in the object's log too.
        var forgiven: [String] = []
        if round.profile == .course {
            var all = WireChecker.observeServer(server, links: round.links, records: round.records, profile: .strict).statusLog
            for text in wire.statusLog { if let i = all.firstIndex(of: text) { all.remove(at: i) } }
            forgiven = all
        }
        return .observed(wire, notes: CourseAttributes.diff(server: server, attributes: attributes, expected: state, wire: wire,
                                                            forgiven: forgiven, label: round.label))
    }
}

/// A server crc-cluster reached but cannot read (attached, no monitor port): its clients, crc-cluster's
/// observer among them, are checked instead; a hand-written expectation of its table fails, saying why.
struct ClientsOnlyObserver: ServerObserver {
    func look(at server: String, want: ServerWant, round: ObservationRound) -> Look<ConvergenceChecker.ServerObservation> {
        if want.state == nil {
            return .failed(Difference(node: server, field: .unobservable, detail: "it has no monitor port: only its clients can be checked"))
        }
        if let e = want.override, e.hosts != nil || e.adjacentServers != nil || e.adjacentClients != nil || e.statusLog != nil {
            return .failed(Difference(node: server, field: .unobservable,
                                      detail: "cannot be checked: its expectations need its state, and it has no monitor port (add monitor: PORT and run it with --monitor-port)"))
        }
        return .matches
    }
}

/// A server nothing can read: every check fails at once, saying why. Never a silent pass.
struct UnobservableServer: ServerObserver {
    var reason: String
    func look(at server: String, want: ServerWant, round: ObservationRound) -> Look<ConvergenceChecker.ServerObservation> {
        .failed(Difference(node: server, field: .unobservable, detail: "cannot be checked: \(reason)"))
    }
}

/// How a client is read. Clients are asked in two phases, so that a thousand of them answer at
/// once: `ask` sends every request, then `look` reads each answer.
protocol ClientObserver: Sendable {
    /// Sends the request, if any; returns where its answer will be.
    func ask(_ client: ClientEndpoint) -> Int
    func look(at client: ClientEndpoint, refused: Bool, from mark: Int, round: ObservationRound,
              want: NetworkModel.ClientState) -> Look<ConvergenceChecker.ClientObservation>
}

/// crc-client: its `digest` command first, its `state` only when the digest differs; a refused
/// client's statuses from its `refused` events.
struct DigestObserver: ClientObserver {
    func ask(_ client: ClientEndpoint) -> Int {
        let mark = client.mark
        client.send("digest")
        return mark
    }

    func look(at client: ClientEndpoint, refused: Bool, from mark: Int, round: ObservationRound,
              want: NetworkModel.ClientState) -> Look<ConvergenceChecker.ClientObservation> {
        let name = client.name
        if refused {
            let statuses = client.events(.refused).compactMap { $0.string("text") }
            return .observed(.init(users: [], statusLog: statuses, chatLog: []))
        }
        guard let event = client.waitForEvent(.digest, from: mark, timeout: 5) else {
            return .failed(Difference(node: name, field: .state, detail: "no answer to the digest command"))
        }
        guard let d = event.decode(ClientDigest.self) else {
            return .failed(Difference(node: name, field: .state, detail: "its digest does not follow the contract (ClientDigest): \(event)"))
        }
        if d.users == want.users.count, d.usersDigest == usersDigest(want.users), d.chatLog.map(\.text) == want.chatLog, d.statusLog == want.statusLog {
            return .matches
        }
        let stateMark = client.mark
        client.send("state")
        guard let stateEvent = client.waitForEvent(.state, from: stateMark, timeout: 5) else {
            return .failed(Difference(node: name, field: .state, detail: "no answer to the state command"))
        }
        guard let s = stateEvent.decode(ClientStateReport.self) else {
            return .failed(Difference(node: name, field: .state, detail: "its state does not follow the contract (ClientStateReport): \(stateEvent)"))
        }
        return .observed(.init(users: Set(s.users.map(\.id)), statusLog: s.statusLog, chatLog: s.chatLog.map(\.text)))
    }
}

/// Another implementation's client: what its server told it, from its tapped link.
struct WireClientObserver: ClientObserver {
    func ask(_ client: ClientEndpoint) -> Int { 0 }

    func look(at client: ClientEndpoint, refused: Bool, from mark: Int, round: ObservationRound,
              want: NetworkModel.ClientState) -> Look<ConvergenceChecker.ClientObservation> {
        let o = WireChecker.observeClient(client.name, links: round.links, records: round.records)
        return .observed(.init(users: refused ? [] : o.users, statusLog: o.statusLog, chatLog: o.chatLog))
    }
}

/// How crc-cluster drives one client, chosen when it starts: the stdin lines that make it chat and
/// quit, whether its own events say it registered (crc-client) or only the wire can, and whether
/// it must end cleanly after quitting.
struct ClientDriver: Sendable {
    /// The program and its leading arguments.
    var command: [String]
    /// Its options, as a template (`ArgumentTemplate`); nil for crc-client's own.
    var template: [String]?
    var chatTemplate: String
    var quitTemplate: String
    var reportsEvents: Bool
    var mustExitCleanly: Bool
    /// A course-style client class run by crc-cluster's client host: its attributes are observed too.
    var classHosted = false

    /// crc-client (alone or hosted): its own commands and events.
    static func ours(command: [String]) -> ClientDriver {
        ClientDriver(command: command, template: nil, chatTemplate: "msg {to} {text}", quitTemplate: "quit {text}", reportsEvents: true, mustExitCleanly: true)
    }
    /// The driver of clients hosted many to a process (crc-client's commands, prefixed by their name).
    static let hosted = ours(command: [])

    /// Another implementation: the seed client's options (or its template), the lines its template
    /// says; registration seen on the wire; it may end as it likes.
    static func other(command: [String], chat: String, quit: String, classHosted: Bool) -> ClientDriver {
        ClientDriver(command: command, template: ArgumentTemplate.seedClient, chatTemplate: chat, quitTemplate: quit,
                     reportsEvents: false, mustExitCleanly: false, classHosted: classHosted)
    }

    /// The argument template it is started with: the spec's or topology's `args:` for another
    /// program, crc-client's own options for ours.
    func arguments(_ given: [String]?) -> [String] {
        guard let template else {
            return ["--id", "{id}", "--serverhost", "{server_host}", "--serverport", "{server_port}",
                    "--username", "{name}", "--info", "{info}", "--log-file", "{log_file}", "--json"]
        }
        return given ?? template
    }

    /// How its state is read: crc-client answers digests and states; another program is seen on
    /// the wire (and a class's attributes through the host).
    func observer(_ p: NodeProcess) -> any ClientObserver {
        if reportsEvents { return DigestObserver() }
        return classHosted ? CourseClientObserver(process: p) : WireClientObserver()
    }

    func chatLine(to destination: UInt32, text: String) -> String { Self.fill(chatTemplate, to: "\(destination)", text: text) }
    func quitLine(text: String) -> String { Self.fill(quitTemplate, to: "", text: text) }

    static func fill(_ template: String, to: String, text: String) -> String {
        template.replacingOccurrences(of: "{to}", with: to).replacingOccurrences(of: "{text}", with: text)
    }
}

/// A course-style client class in crc-cluster's client host: the wire stays the primary evidence,
/// and the object's `status_updates_log` is checked beside it. Where to read it is the host's
/// first line, read when first needed.
struct CourseClientObserver: ClientObserver {
    let process: NodeProcess

    func ask(_ client: ClientEndpoint) -> Int { 0 }

    func look(at client: ClientEndpoint, refused: Bool, from mark: Int, round: ObservationRound,
              want: NetworkModel.ClientState) -> Look<ConvergenceChecker.ClientObservation> {
        let o = WireChecker.observeClient(client.name, links: round.links, records: round.records)
        let wire = ConvergenceChecker.ClientObservation(users: refused ? [] : o.users, statusLog: o.statusLog, chatLog: o.chatLog)
        guard let event = process.waitForEvent(.classState, timeout: 5),
              let line = event.decode(ClassHostLine.self) else {
            return .failed(Difference(node: client.name, field: .state, detail: "the client host never said where to read the object's attributes (no class_state line)"))
        }
        let attributes: CourseAttributes
        do {
            let text = try BlockingSocket.request(port: line.statePort, line: "state", timeout: 5)
            attributes = try JSONDecoder().decode(CourseAttributes.self, from: Data(text.utf8))
        } catch {
            // A client that has quit is gone with its object: the wire alone speaks for it.
            if !client.isRunning { return .observed(wire) }
            return .failed(Difference(node: client.name, field: .state, detail: "cannot read the object's attributes from the client host: \(error)"))
        }
        if let traceback = attributes.error {
            return .failed(Difference(node: client.name, field: .process, detail: "its run() raised an exception:\n\(traceback)"))
        }
        var notes: [Difference] = []
        if attributes.missing.contains("status_updates_log") {
            notes.append(Difference(node: client.name, field: .classAttribute("status_updates_log"),
                                    detail: "is not an attribute of the object (the course's harness grades it)"))
        } else if attributes.statusUpdatesLog != want.statusLog {
            let quoted = { (l: [String]) in l.isEmpty ? "nothing" : l.map { "\"\($0)\"" }.joined(separator: ", ") }
            notes.append(Difference(node: client.name, field: .classAttribute("status_updates_log"),
                                    detail: "holds \(quoted(attributes.statusUpdatesLog)), expected \(quoted(want.statusLog))"
                                        + (wire.statusLog == want.statusLog ? " (the wire carried the expected statuses to it)" : "")))
        }
        return .observed(wire, notes: notes)
    }
}
