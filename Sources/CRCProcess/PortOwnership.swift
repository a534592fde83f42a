import Foundation
import NIOConcurrencyHelpers

/// Ports for programs that must be told their port (another implementation takes `--port P`),
/// and proof that the program listening there is the one started for it.
///
/// A port is picked below the kernel's ephemeral range (32768 up), so no socket of this machine is
/// given it by chance; within this process, no port is handed out twice while it may still be in
/// use (scenarios run side by side). Between processes (two crc-cluster runs at once) two picks
/// may still meet: then readiness is decided by who listens, not by whether the port answers.
public enum PortOwnership {
    private static let handedOut = NIOLockedValueBox<(set: Set<Int>, order: [Int])>(([], []))
    /// Ports handed out recently; the oldest are forgotten beyond this (their runs are long over).
    private static let remembered = 4_096

    /// A free loopback port in 20000..<32768 that this process has not handed out recently.
    public static func pick() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_768)
            let fresh = handedOut.withLockedValue { h -> Bool in
                guard !h.set.contains(candidate) else { return false }
                h.set.insert(candidate)
                h.order.append(candidate)
                if h.order.count > remembered { h.set.remove(h.order.removeFirst()) }
                return true
            }
            if fresh && BlockingSocket.canBind(port: candidate) { return candidate }
        }
        return try BlockingSocket.freeLoopbackPort()
    }

    /// True when a process of the process group `group` (a node started by crc-cluster leads its
    /// own group: a wrapper script's children count too) holds a socket listening on `port`.
    /// Nil when /proc cannot tell (not Linux): the caller then trusts the port answering.
    public static func groupListens(_ group: Int32, on port: Int) -> Bool? {
        guard let inodes = listeningInodes(port: port) else { return nil }
        if inodes.isEmpty { return false }
        let targets = Set(inodes.map { "socket:[\($0)]" })
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in pids {
            guard let pid = Int32(entry), pid == group || processGroup(of: pid) == group else { continue }
            let fdDir = "/proc/\(pid)/fd"
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: fdDir) else { continue }
            for fd in fds {
                if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\(fd)"), targets.contains(link) {
                    return true
                }
            }
        }
        return false
    }

    /// The inodes of sockets in LISTEN state on local `port` (IPv4 and IPv6), from /proc/net.
    static func listeningInodes(port: Int) -> [String]? {
        let hexPort = String(format: ":%04X", port)
        var found: [String] = []
        var readAny = false
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = ProcFile.text(table) else { continue }
            readAny = true
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                guard f.count > 9, f[1].hasSuffix(hexPort), f[3] == "0A" else { continue }
                found.append(String(f[9]))
            }
        }
        return readAny ? found : nil
    }

    /// The process group of `pid`, from /proc/PID/stat (field 5, after the parenthesised name).
    static func processGroup(of pid: Int32) -> Int32? {
        guard let stat = ProcFile.text("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? Int32(fields[2]) : nil
    }
}
