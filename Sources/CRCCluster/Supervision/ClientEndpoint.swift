import CRCCore
import Foundation
import CRCProcess
import CRCContract

/// A client as the cluster drives it: its own crc-client process, or one of many clients hosted by
/// a shared process (`clientsPerProcess` > 1), whose commands and events carry its name.
public final class ClientEndpoint: @unchecked Sendable {  // immutable after init; the process it wraps guards its own state
    public let name: String
    public let process: NodeProcess
    public let hosted: Bool
    /// How its state is read, and how it is made to chat and quit: chosen when it started.
    let observer: any ClientObserver
    let driver: ClientDriver

    init(name: String, process: NodeProcess, hosted: Bool, observer: any ClientObserver, driver: ClientDriver) {
        self.name = name
        self.process = process
        self.hosted = hosted
        self.observer = observer
        self.driver = driver
    }

    public var pid: Int32 { process.pid }

    /// Where the next event will be, for waiting on events after a command.
    public var mark: Int { process.stdoutLines.count }

    public func send(_ command: String) {
        process.send(line: hosted ? "\(name) \(command)" : command)
    }

    public func waitForEvent(_ event: NodeEvent.Kind, from: Int = 0, timeout: TimeInterval,
                             matching: (NodeEvent) -> Bool = { _ in true }) -> NodeEvent? {
        guard hosted else { return process.waitForEvent(event, from: from, timeout: timeout, matching: matching) }
        return process.waitForHostedEvent(client: name, event: event, from: from, timeout: timeout, matching: matching)
    }

    /// This client's events so far, of `kind` when given (the kind is read before the line is
    /// decoded: a host's output holds thousands of lines).
    public func events(_ kind: NodeEvent.Kind? = nil) -> [NodeEvent] {
        guard hosted else { return process.events(kind) }
        let tag = "\"client\":\(JSONValue.quote(name))"
        return process.stdoutLines.compactMap { line in
            guard kind == nil || NodeEvent.kind(of: line) == kind, line.contains(tag), let e = NodeEvent(line: line),
                  e.string("client") == name else { return nil }
            return e
        }
    }

    public var exitStatus: NodeProcess.ExitStatus? {
        guard hosted else { return process.exitStatus }
        if let code = process.hostedExit(name) { return .exited(code) }
        return process.exitStatus
    }

    public var isRunning: Bool { exitStatus == nil }

    public func waitForExit(timeout: TimeInterval) -> NodeProcess.ExitStatus? {
        guard hosted else { return process.waitForExit(timeout: timeout) }
        if let e = waitForEvent(.exited, timeout: timeout), let code = e.int("code") { return .exited(Int32(code)) }
        return process.exitStatus
    }

    /// Ends the client: SIGTERM/SIGKILL for its own process; a hosted client quits (its host
    /// process is shared), which its neighbours see the same way.
    public func signal(_ sig: Int32) {
        if hosted { send("quit") } else { process.signal(sig) }
    }
}
