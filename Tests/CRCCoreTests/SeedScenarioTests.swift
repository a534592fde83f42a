import CRCCore
import CRCProtocol
import Foundation
import XCTest

/// Replays the course's own scenario files (read where the course ships them, `../shared/
/// seed-scenarios`: this repository keeps only their YAML ports, which `SimulateTests` runs in
/// the simulation and `ClusterProcessTests` as processes) and checks the final state they record:
/// so the ports are checked against the originals. Adjacency comes from the launch commands: the
/// files' adjacency lists are known to be wrong (docs/protocol.md, "The course's seed scenarios").
final class SeedScenarioTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/seed-scenarios")

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: Self.fixtures.path) else {
            throw XCTSkip("the course's seed scenarios are not at \(Self.fixtures.path)")
        }
    }

    /// Splits a seed command line on spaces, keeping a quoted argument whole, quotes included.
    static func tokens(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        for ch in line {
            if ch == "\"" { quoted.toggle(); current.append(ch) }
            else if ch == " " && !quoted { if !current.isEmpty { out.append(current); current = "" } }
            else { current.append(ch) }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    struct Replay {
        var sim = Simulation()
        var idOfName: [String: UInt32] = [:]
        var serverNameOfPort: [String: String] = [:]
        var upstream: [String: String] = [:]
        var serverNames: [String] = []
        var finalState: [String: [String: Any]] = [:]
    }

    func replay(_ file: String) throws -> Replay {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent(file))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var r = Replay()
        r.finalState = json["final_state"] as! [String: [String: Any]]
        for line in json["commands"] as! [String] {
            let t = Self.tokens(line)
            func opt(_ name: String) -> String? { t.firstIndex(of: name).map { t[$0 + 1] } }
            switch t[0] {
            case "LAUNCHSERVER":
                let id = UInt32(opt("--id")!)!, name = opt("--servername")!
                var up: String?
                if let host = opt("--connect_to_host") {
                    // Seed upstreams are named; a few names are misspelt prefixes ("minastiri").
                    up = r.serverNames.first { $0 == host } ?? r.serverNames.first { $0.hasPrefix(host) }
                    XCTAssertNotNil(up, "upstream \(host) in \(file)")
                }
                r.sim.startServer(name: name, id: id, info: opt("--info")!, upstream: up)
                r.sim.settle()
                if r.sim.failed[name] == nil {
                    r.serverNames.append(name)
                    if let up { r.upstream[name] = up }
                }
                r.idOfName[name] = id
            case "LAUNCHCLIENT":
                let id = UInt32(opt("--id")!)!, name = opt("--username")!
                r.sim.startClient(name: name, id: id, info: opt("--info")!, server: opt("--serverhost")!)
                r.idOfName[name] = id
            case "CLIENTCOMMAND":
                let user = opt("--username")!
                let c = t.firstIndex(of: "--command")!
                if t[c + 1] == "MESSAGE" {
                    r.sim.chat(from: user, to: UInt32(t[c + 2])!, text: t[(c + 3)...].joined(separator: " "))
                } else {
                    r.sim.quit(client: user, text: t[(c + 2)...].joined(separator: " "))
                }
            default:
                break // WAIT and KILL ALL: the simulation settles after every step.
            }
            r.sim.settle()
        }
        return r
    }

    func check(_ file: String, line: UInt = #line) throws {
        let r = try replay(file)
        XCTAssertFalse(r.finalState.isEmpty)
        for (key, expected) in r.finalState {
            // One file names its server "theshire.nz" in final_state while launching "theshire".
            let name = r.idOfName[key] != nil ? key : try XCTUnwrap(r.idOfName.keys.first { key.hasPrefix($0) }, key)
            func ids(_ key: String) -> [UInt32]? { (expected[key] as? [Int])?.map { UInt32($0) } }
            if let core = r.sim.servers[name] ?? r.sim.stopped[name] {
                if let hosts = ids("hosts_db") {
                    XCTAssertEqual(core.hosts.keys.sorted(), hosts, "\(name) hosts", line: line)
                }
                if let users = ids("adjacent_user_ids") {
                    XCTAssertEqual(core.adjacentClients.keys.sorted(), users, "\(name) adjacent clients", line: line)
                }
                if r.sim.failed[name] == nil {
                    let tree = r.upstream.filter { $0.value == name }.map(\.key) + (r.upstream[name].map { [$0] } ?? [])
                    XCTAssertEqual(core.adjacentServers.keys.sorted(), tree.map { r.idOfName[$0]! }.sorted(),
                                   "\(name) adjacent servers", line: line)
                    // Every first link is adjacent, and an adjacent host is its own first link.
                    for host in core.hosts.values {
                        XCTAssertNotNil(core.adjacentServers[host.firstLink] ?? core.adjacentClients[host.firstLink],
                                        "\(name): first link of \(host.id)", line: line)
                    }
                }
                if let statuses = expected["status_updates_log"] as? [String] {
                    XCTAssertEqual(core.statusLog, statuses, "\(name) status log", line: line)
                }
            } else {
                let client = try XCTUnwrap(r.sim.clients[name], "client \(name) in \(file)")
                if let users = ids("connected_user_ids") {
                    XCTAssertEqual(client.users.keys.sorted(), users, "\(name) users", line: line)
                }
                if let statuses = expected["status_updates_log"] as? [String] {
                    XCTAssertEqual(client.statusLog, statuses, "\(name) status log", line: line)
                }
                if let chats = expected["chat_messages_log"] as? [String] {
                    XCTAssertEqual(client.chatLog.map(\.text), chats, "\(name) chat log", line: line)
                }
            }
        }
    }

    func test2_2FourServers() throws { try check("2_2_FourServers.json") }
    func test3_3ThreeServersFourClients() throws { try check("3_3_ThreeServers_FourClients.json") }
    func test4_3MessageThreeHops() throws { try check("4_3_Message_Three_Hops.json") }
    func test5_2DuplicateServer() throws {
        try check("5_2_DuplicateID_Server.json")
        let r = try replay("5_2_DuplicateID_Server.json")
        XCTAssertNotNil(r.sim.failed["osgiliath"], "the refused server stops with a fatal error")
        XCTAssertEqual(r.sim.servers["theshire"]?.hosts[2]?.name, "rivendale", "the real holder of id 2 is kept")
    }
    func test5_3DuplicateClient() throws { try check("5_3_DuplicateID_Client.json") }
    func test5_4UnknownID() throws { try check("5_4_UnknownID_Client.json") }
    func test6_2ClientQuitThreeServers() throws { try check("6_2_ClientQuit_ThreeServers.json") }

    /// Every CRC_functionality file the course ships, not only the ones listed in the issue.
    func testEveryFunctionalSeedScenario() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { !$0.hasPrefix("1_") }.sorted()
        XCTAssertEqual(files.count, 17)
        for f in files { try check(f) }
    }

    func testChatTravelsTheTreePath() throws {
        // docs/protocol.md's worked example: 104 → 3 → 1 → 2 → 103.
        var r = try replay("3_3_ThreeServers_FourClients.json")
        r.sim.chat(from: "bilbobaggins", to: 103, text: "hello elrond")
        r.sim.settle()
        var hops: [UInt32] = []
        for sid in ["grey_havens", "theshire", "rivendale"] {
            if let e = r.sim.serverLogs[sid]?.last(where: { if case .chatRouted = $0 { return true } else { return false } }),
               case .chatRouted(104, 103, let next) = e { hops.append(next) }
        }
        XCTAssertEqual(hops, [1, 2, 103])
        XCTAssertEqual(r.sim.clients["elrond"]?.chatLog.last, ChatEntry(from: 104, text: "hello elrond"))
    }

    func testFirstMessagesOnServerLinksMatchTheByteLevelScenarios() throws {
        for file in ["1_1_TwoConnections.json", "1_2_FourConnections.json", "1_3_EightConnections.json"] {
            let r = try replay(file)
            for (name, expected) in r.finalState {
                let recorded = (expected["recvd_messages_asdqw"] as! [String]).sorted()
                let got = (r.sim.firstInbound[name] ?? []).map(\.hex).sorted()
                XCTAssertEqual(got, recorded, "\(file) \(name)")
            }
        }
    }
}
