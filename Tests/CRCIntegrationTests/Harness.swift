import CRCCore
import CRCTesting
import Foundation
import XCTest
import CRCProcess
import CRCContract

/// Starts real crc-server / crc-client processes on free loopback ports and stops every one of
/// them when the test ends, pass or fail.
final class Harness {
    static var binDir: URL { TestSupport.binDir }

    let timeout: TimeInterval = 10
    private(set) var processes: [NodeProcess] = []
    /// The log files of the crc-servers this harness started (not another implementation's).
    private var ourLogs: [URL] = []
    let logDir: URL

    init() throws {
        logDir = FileManager.default.temporaryDirectory.appendingPathComponent("crc-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)
    }

    struct Server {
        let process: NodeProcess
        let port: Int
        let monitorPort: Int
        var log: URL
    }

    func startServer(id: UInt32, name: String, upstream: Server? = nil, extra: [String] = [],
                     file: StaticString = #filePath, line: UInt = #line) throws -> Server {
        var args = ["--id", "\(id)", "--servername", name, "--port", "0", "--monitor-port", "0", "--info", "info of \(name)",
                    "--log-file", logDir.appendingPathComponent("\(name).log").path, "--log-level", "debug"]
        if let upstream { args += ["--connect_to_host", "127.0.0.1", "--connect_to_port", "\(upstream.port)"] }
        args += extra  // last, so that it overrides the defaults above
        let p = NodeProcess(name: name, executable: Self.binDir.appendingPathComponent("crc-server").path, arguments: args)
        processes.append(p)
        try p.start()
        let ready = try XCTUnwrap(p.waitForEvent(.ready, timeout: timeout), "\(name) never became ready: \(p.stderrLines.suffix(5))",
                                  file: file, line: line)
        ourLogs.append(logDir.appendingPathComponent("\(name).log"))
        return Server(process: p, port: ready.int("port")!, monitorPort: ready.int("monitor_port")!,
                      log: logDir.appendingPathComponent("\(name).log"))
    }

    func startClient(id: UInt32, name: String, server: Server, expectRegistered: Bool = true,
                     file: StaticString = #filePath, line: UInt = #line) throws -> NodeProcess {
        let p = NodeProcess(name: name, executable: Self.binDir.appendingPathComponent("crc-client").path,
                            arguments: ["--id", "\(id)", "-S", "127.0.0.1", "-P", "\(server.port)", "-U", name, "-I", "info of \(name)", "--json"])
        processes.append(p)
        try p.start()
        if expectRegistered {
            XCTAssertNotNil(p.waitForEvent(.registered, timeout: timeout), "\(name) was not welcomed: \(p.stderrLines.suffix(5))",
                            file: file, line: line)
        }
        return p
    }

    /// Polls a server's /state until `condition` holds or the deadline passes; returns the last state.
    @discardableResult
    func waitForState(_ server: Server, timeout: TimeInterval? = nil, _ what: String,
                      file: StaticString = #filePath, line: UInt = #line,
                      until condition: (ServerSnapshot) -> Bool) -> ServerSnapshot? {
        var last: ServerSnapshot?
        let reached = Self.poll(timeout: timeout ?? self.timeout) {
            guard let s = try? MonitorClient.fetchState(port: server.monitorPort) else { return false }
            last = s
            return condition(s)
        }
        if !reached {
            XCTFail("\(what): not reached before the deadline; last state: \(String(describing: last))", file: file, line: line)
        }
        return last
    }

    /// Waits until a server's JSON log has a line for which `matches` holds (servers write their
    /// log once per event-loop turn, a moment after the event), or the deadline passes.
    func waitForLog(_ server: Server, timeout: TimeInterval? = nil, _ matches: (Substring) -> Bool) -> Bool {
        Self.poll(timeout: timeout ?? self.timeout) {
            ((try? String(contentsOf: server.log, encoding: .utf8)) ?? "").split(separator: "\n").contains(where: matches)
        }
    }

    static func poll(timeout: TimeInterval, _ condition: () -> Bool) -> Bool { TestSupport.poll(timeout: timeout, condition) }

    func waitForLog(_ server: Server, containing needle: String) -> Bool {
        waitForLog(server) { $0.contains(needle) }
    }

    static func rawConnect(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
        try TestSupport.rawConnect(port: port, receiveBuffer: receiveBuffer)
    }

    static func closedByServer(_ fd: Int32) -> Bool { TestSupport.closedByServer(fd) }

    func shutdown(file: StaticString = #filePath, line: UInt = #line) {
        for p in processes.reversed() { p.stop(grace: 2) }
        // Every line a server logged, at debug level, is an event of the contract crc-cluster
        // decodes (NodeEvent): a renamed or new event that the contract lacks fails the test.
        for log in ourLogs {
            let name = log.lastPathComponent
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            for entry in text.split(separator: "\n") where NodeEvent(line: entry) == nil {
                XCTFail("\(name): a log line that is not a NodeEvent: \(entry.prefix(300))", file: file, line: line)
                break
            }
        }
        // And every JSON line one of our processes printed.
        for p in processes where p.executable.hasPrefix(Self.binDir.path) {
            for entry in p.stdoutLines where entry.hasPrefix("{") && NodeEvent(line: entry) == nil {
                XCTFail("\(p.name): an output line that is not a NodeEvent: \(entry.prefix(300))", file: file, line: line)
                break
            }
        }
        try? FileManager.default.removeItem(at: logDir)
    }
}
