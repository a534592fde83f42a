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

    public func waitForEvent(_ event: String, from: Int = 0, timeout: TimeInterval,
                             matching: ([String: Any]) -> Bool = { _ in true }) -> [String: Any]? {
        guard hosted else { return process.waitForEvent(event, from: from, timeout: timeout, matching: matching) }
        return process.waitForHostedEvent(client: name, event: event, from: from, timeout: timeout, matching: matching)
    }

    /// This client's events so far (optionally only lines containing `containing`, checked before
    /// parsing: a host's output holds thousands of lines).
    public func events(containing: String? = nil) -> [[String: Any]] {
        let tag = hosted ? "\"client\":\(JSONValue.quote(name))" : nil
        return process.stdoutLines.lazy
            .filter { line in (containing.map { line.contains($0) } ?? true) && (tag.map { line.contains($0) } ?? true) }
            .compactMap(NodeProcess.parseJSON)
            .filter { !self.hosted || $0["client"] as? String == self.name }
    }

    public var events: [[String: Any]] { events() }

    public var exitStatus: NodeProcess.ExitStatus? {
        guard hosted else { return process.exitStatus }
        if let code = process.hostedExit(name) { return .exited(code) }
        return process.exitStatus
    }

    public var isRunning: Bool { exitStatus == nil }

    public func waitForExit(timeout: TimeInterval) -> NodeProcess.ExitStatus? {
        guard hosted else { return process.waitForExit(timeout: timeout) }
        if let e = waitForEvent("exited", timeout: timeout), let code = e["code"] as? Int { return .exited(Int32(code)) }
        return process.exitStatus
    }

    /// Ends the client: SIGTERM/SIGKILL for its own process; a hosted client quits (its host
    /// process is shared), which its neighbours see the same way.
    public func signal(_ sig: Int32) {
        if hosted { send("quit") } else { process.signal(sig) }
    }
}

extension ClientEndpoint {
    /// A parsed event as one of the contract's types (`ClientDigest`, `ClientStateReport`, …).
    public static func decode<T: Decodable>(_ type: T.Type, from event: [String: Any]) -> T? {
        guard let data = try? JSONSerialization.data(withJSONObject: event) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }
}
