import Foundation
#if canImport(Glibc)
import Glibc
import CRCProcess
#endif

/// What every test target needs to drive real processes: where the built executables are, where
/// the repository is, waiting for a condition with a deadline, raw connections, and a look at the
/// machine's processes. One copy, used by CRCIntegrationTests and CRCClusterTests alike.
public enum TestSupport {
    /// The folder holding crc-server, crc-client and crc-cluster: `CRC_BIN_DIR`, or the test
    /// bundle's own folder (`swift build` puts them side by side).
    public static let binDir: URL = {
        if let dir = ProcessInfo.processInfo.environment["CRC_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }()

    /// The repository's root (topologies/, scripts/ …).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// The stand-in for a student's server (`Tests/Fixtures/course_server.py`), or the file that
    /// `CRC_COURSE_SERVER` names.
    public static let courseServer: URL = {
        if let path = ProcessInfo.processInfo.environment["CRC_COURSE_SERVER"] { return URL(fileURLWithPath: path) }
        return repositoryRoot.appendingPathComponent("Tests/Fixtures/course_server.py")
    }()

    /// Evaluates `condition` every few milliseconds until it holds (true) or `timeout` seconds
    /// pass (false). The pause is a poll interval, not a wait for state: the loop ends on the condition.
    public static func poll(timeout: TimeInterval, every interval: useconds_t = 5_000, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if condition() { return true }
            if Date() >= deadline { return false }
            usleep(interval)
        }
    }

    /// A socket listening on a free loopback port, which accepts (into its backlog) and never
    /// speaks: a server that never answers, or one more entry in the machine's socket table.
    public static func listenOnLoopback(backlog: Int32 = 8) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        listen(fd, backlog)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// A blocking TCP connection to a loopback port (10 s receive timeout), for tests that speak
    /// raw bytes; `receiveBuffer` shrinks the kernel's buffer to make a slow reader quickly.
    public static func rawConnect(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
        try BlockingSocket.connect(port: port, timeout: 10, receiveBuffer: receiveBuffer)
    }

    /// Reads until the server closes the connection (true) or the receive timeout passes (false).
    public static func closedByServer(_ fd: Int32) -> Bool {
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// Processes whose command line (NUL-separated arguments) matches, this one excluded.
    public static func processes(where matches: (String) -> Bool) -> [Int32] {
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
            guard let pid = Int32(entry), pid != me,
                  let data = ProcFile.text("/proc/\(entry)/cmdline"), !data.isEmpty else { return nil }
            return matches(data) ? pid : nil
        }
    }

    /// True while `pid` runs (a zombie, exited but not yet reaped, does not).
    public static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = ProcFile.text("/proc/\(pid)/stat") ?? ""
        return !stat.contains(") Z ")
    }
}
