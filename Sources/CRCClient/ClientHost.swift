import CRCCore
import CRCProtocol
import CRCTerminal
import Dispatch
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
import CRCContract
#endif

/// Many clients in one process: each with its own connection, state and log file, all on one
/// event loop. For networks of thousands of clients, where a process per client costs more in
/// start-up and memory than the clients themselves (README, "Scale").
///
/// stdin:  `<client name> <command>`, the commands of crc-client (msg, state, quit, ...).
/// stdout: the events of `crc-client --json`, each tagged "client": name, without per-user
///         joins and leaves; "exited" with the exit code crc-client would have had.
public enum ClientHost {
    public static func run(_ configs: [ClientConfiguration]) -> Int32 {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        var sessions: [String: ClientSession] = [:]
        var futures: [EventLoopFuture<ClientExitCode>] = []
        for var config in configs {
            config.json = true
            if config.hostedName == nil { config.hostedName = config.username }
            do {
                let session = try ClientSession(config: config, eventLoop: loop)
                sessions[config.hostedName!] = session
                futures.append(session.finished)
                // Generous: one loop serves every hosted client, and a large network keeps it busy.
                let (name, address) = (config.username, "\(ClientApp.serverAddress(config.serverHost)):\(config.serverPort)")
                ClientApp.connect(session, group: group, timeout: .seconds(60)).whenFailure { error in
                    writeErr("crc-client host: \(name) cannot reach \(address): \(ClientApp.describe(error))")
                    session.finish(.failure)
                }
            } catch {
                writeErr("crc-client host: \(error)")
                return ClientExitCode.failure.rawValue
            }
        }
        let byName = sessions
        DispatchQueue(label: "crc-client-host.stdin").async {
            while let line = readLine(strippingNewline: true) {
                let name = String(line.prefix { $0 != " " })
                let rest = String(line.dropFirst(name.count).drop { $0 == " " })
                loop.execute {
                    if let session = byName[name] {
                        session.handle(line: rest)
                    } else {
                        writeOut(NodeEvent(.error, ["message": .string("no hosted client named '\(name)'")]).text)
                    }
                }
            }
            loop.execute { for s in byName.values { s.quit(text: "") } }
        }
        for sig in [SIGINT, SIGTERM] { signal(sig, SIG_IGN) }
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { loop.execute { for s in byName.values { s.quit(text: "interrupted") } } }
        source.resume()
        let codes = (try? EventLoopFuture.whenAllComplete(futures, on: loop).wait()) ?? []
        source.cancel()
        let failed = codes.contains { if case .success(let c) = $0 { return c != .ok } else { return true } }
        return failed ? ClientExitCode.failure.rawValue : 0
    }
}
