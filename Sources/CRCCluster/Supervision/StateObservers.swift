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
    lazy var echoes = WireChecker.tolerated(links: links, records: records)

    init(records: [WireRecord], links: WireChecker.Links, profile: WireProfile) {
        self.records = records
        self.links = links
        self.profile = profile
    }
}

/// What an observer saw of a node.
enum Look<Observation> {
    /// As expected, by a cheap look (a digest); nothing to compare.
    case matches
    /// What it knows, to compare with what it should know.
    case observed(Observation)
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
            let statuses = client.events.filter { $0["event"] as? String == "refused" }.compactMap { $0["text"] as? String }
            return .observed(.init(users: [], statusLog: statuses, chatLog: []))
        }
        guard let event = client.waitForEvent("digest", from: mark, timeout: 5) else {
            return .failed(Difference(node: name, field: .state, detail: "no answer to the digest command"))
        }
        guard let d = ClientEndpoint.decode(ClientDigest.self, from: event) else {
            return .failed(Difference(node: name, field: .state, detail: "its digest does not follow the contract (ClientDigest): \(event)"))
        }
        if d.users == want.users.count, d.usersDigest == usersDigest(want.users), d.chatLog.map(\.text) == want.chatLog, d.statusLog == want.statusLog {
            return .matches
        }
        let stateMark = client.mark
        client.send("state")
        guard let stateEvent = client.waitForEvent("state", from: stateMark, timeout: 5) else {
            return .failed(Difference(node: name, field: .state, detail: "no answer to the state command"))
        }
        guard let s = ClientEndpoint.decode(ClientStateReport.self, from: stateEvent) else {
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
    var chatTemplate: String
    var quitTemplate: String
    var reportsEvents: Bool
    var mustExitCleanly: Bool

    /// crc-client (alone or hosted): its own commands and events.
    static let ours = ClientDriver(chatTemplate: "msg {to} {text}", quitTemplate: "quit {text}", reportsEvents: true, mustExitCleanly: true)

    /// Another implementation: the lines its template says; registration seen on the wire; it may end as it likes.
    static func other(chat: String, quit: String) -> ClientDriver {
        ClientDriver(chatTemplate: chat, quitTemplate: quit, reportsEvents: false, mustExitCleanly: false)
    }

    func chatLine(to destination: UInt32, text: String) -> String { Self.fill(chatTemplate, to: "\(destination)", text: text) }
    func quitLine(text: String) -> String { Self.fill(quitTemplate, to: "", text: text) }

    static func fill(_ template: String, to: String, text: String) -> String {
        template.replacingOccurrences(of: "{to}", with: to).replacingOccurrences(of: "{text}", with: text)
    }
}
