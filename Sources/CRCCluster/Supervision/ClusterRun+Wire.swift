import CRCProtocol
import Foundation
import CRCProcess
import CRCContract

/// Nodes that run another implementation, seen from the outside: their readiness from their port
/// and the wire, their state from what crossed their links (`WireChecker`).
extension ClusterRun {
    /// Polls the taps until a message on `link` satisfies `condition`, or the deadline passes.
    func waitForWire(link: String, timeout: TimeInterval, while alive: () -> Bool = { true },
                     _ condition: (WireRecord) -> Bool) -> Bool {
        guard let wire else { return false }
        return poll(until: Date().addingTimeInterval(timeout), while: alive) {
            wire.all.contains(where: { $0.link == link && condition($0) })
        }
    }

    /// Ready when its port accepts connections (it announces nothing); refused when its upstream
    /// answers its registration with a duplicate-id status.
    func awaitForeignServer(_ name: String, _ p: NodeProcess, port: Int, refused: Bool, portChosen: Bool = false, attempt: Int = 1) throws -> ServerNode {
        let timeout = options.settleTimeout
        if refused {
            let told = waitForWire(link: name, timeout: timeout, while: { p.isRunning }) { r in
                guard r.direction == .down, let m = r.message, case .status(let s) = m else { return false }
                return s.code == .duplicateID
            }
            let node = ServerNode(process: p, port: port, monitorPort: nil, logFile: logFile(name),
                                  observer: UnobservableServer(reason: "it was refused"))
            guard told else {
                let why = p.exitStatus.map { "it ended with \($0) before" } ?? "within \(timeout) s"
                throw ClusterError("server '\(name)' reuses an id and should have been refused, but no duplicate-id status reached it on its link \(why)\n\(tail(of: p))")
            }
            options.onProgress?("server \(name) refused, as expected (pid \(p.pid))")
            return node
        }
        let deadline = Date().addingTimeInterval(timeout)
        var backoff = Backoff()
        // Ready when the port answers and the listener is this process's (or its children's):
        // another run may have picked the same port and be answering on it.
        while !(BlockingSocket.accepts(port: port) && PortOwnership.groupListens(p.pid, on: port) != false) {
            if let status = p.waitForExit(timeout: 0) {
                // The port crc-cluster chose was taken meanwhile by someone else: choose again.
                let said = (p.stderrLines.joined(separator: "\n")).lowercased()
                if portChosen, attempt < 4, said.contains("in use") || said.contains("eaddrinuse") || said.contains("errno 98") {
                    options.onProgress?("server \(name): port \(port) was taken before it could bind it; another port (attempt \(attempt + 1))")
                    let again = try Self.unlikelyFreePort()
                    let q = try launchForeign(name, port: again)
                    return try awaitForeignServer(name, q, port: again, refused: refused, portChosen: true, attempt: attempt + 1)
                }
                throw ClusterError("server '\(name)' never became ready: it ended with \(status) before accepting connections on port \(port) (\(p.executable))\n\(tail(of: p))")
            }
            guard Date() < deadline else {
                if BlockingSocket.accepts(port: port) {
                    throw ClusterError("server '\(name)' never became ready: port \(port) accepts connections, but not from its process (pid \(p.pid)) within \(timeout) s: another program holds that port\n\(tail(of: p))")
                }
                throw ClusterError("server '\(name)' never became ready: nothing accepted connections on port \(port) within \(timeout) s (\(p.executable); does it take --port, or the port of its args template?)\n\(tail(of: p))")
            }
            backoff.wait()
        }
        var observer: any ServerObserver = WireServerObserver()
        if options.classHostedServers {
            guard let event = p.waitForEvent(.classState, timeout: options.settleTimeout),
                  let line = event.decode(ClassHostLine.self) else {
                throw ClusterError("server '\(name)': the class host never said where to read the object's attributes (no class_state line)\n\(tail(of: p))")
            }
            observer = CourseClassObserver(statePort: line.statePort)
        }
        options.onProgress?("server \(name) accepting on port \(port) (pid \(p.pid), another implementation)")
        return ServerNode(process: p, port: port, monitorPort: nil, logFile: logFile(name), observer: observer)
    }

    /// Registered when its server's welcome crosses its link; refused on a duplicate-id status.
    func awaitForeignClient(_ name: String, _ c: ClientEndpoint, refused: Bool) throws {
        let code: StatusCode = refused ? .duplicateID : .welcome
        let ok = waitForWire(link: name, timeout: options.settleTimeout, while: { c.isRunning }) { r in
            guard r.direction == .down, let m = r.message, case .status(let s) = m else { return false }
            return s.code == code
        }
        guard ok else {
            throw ClusterError("client '\(name)' was expected to be \(refused ? "refused" : "welcomed"), but no \(refused ? "duplicate-id" : "welcome") status reached it on its link within \(options.settleTimeout) s\n\(tail(of: c.process, node: name))")
        }
        options.onProgress?("client \(name) \(refused ? "refused, as expected" : "welcomed") (pid \(c.pid), another implementation)")
    }

    /// `wire.jsonl`: every message the taps saw, one JSON object a line, in order.
    public func writeWire() {
        guard let wire else { return }
        var out = ""
        for r in wire.all {
            let (from, to) = links.ends(WireChecker.Crossing(r.link, r.direction))
            out += r.jsonLine(from: from, to: to) + "\n"
        }
        FileManager.default.createFile(atPath: runDir.appendingPathComponent("wire.jsonl").path, contents: Data(out.utf8))
    }
}
