import CRCProcess
import Foundation

/// Grading in a private network namespace: as root, where `unshare` works, crc-cluster runs
/// itself again inside a new network namespace whose only interface is its loopback (brought up
/// with `ip`), so every node of the grading — the graded programs, ours and crc-cluster's relays —
/// talks over a loopback of its own and nothing outside is reachable. Elsewhere it says so and
/// grades in the machine's network.
enum NetworkNamespace {
    static let marker = "CRC_GRADE_NETNS"

    static func tool(_ name: String) -> String? {
        ["/usr/bin/\(name)", "/bin/\(name)", "/usr/sbin/\(name)", "/sbin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Inside already, or not possible: returns (saying why on stderr when it is not). Otherwise
    /// replaces this process with itself inside a new namespace, and does not return.
    static func enterIfPossible() throws {
        let env = ProcessInfo.processInfo.environment
        if env[marker] != nil { return }
        func note(_ why: String) {
            FileHandle.standardError.write(Data("crc-cluster: note: grading in this machine's network (\(why)): graded programs can reach what this machine reaches\n".utf8))
        }
        guard geteuid() == 0 else { return note("a private network namespace needs root") }
        guard let unshare = tool("unshare"), let ip = tool("ip") else { return note("unshare (util-linux) or ip (iproute2) is missing") }
        // A probe first: where namespaces are not allowed (some containers) exec would fail past recovery.
        let probe = NodeProcess(name: "unshare-probe", executable: unshare, arguments: ["--net", ip, "link", "set", "lo", "up"])
        do { try probe.start() } catch { return note("unshare cannot run: \(error)") }
        guard probe.waitForExit(timeout: 10) == .exited(0) else { return note("this kernel or container does not allow a new network namespace") }
        let me = selfPath()
        let args = [unshare, "--net", "--", "/bin/sh", "-c", "\"$0\" link set lo up && exec \"$@\"", ip, me] + Array(CommandLine.arguments.dropFirst())
        setenv(marker, "1", 1)
        let cArgs = args.map { strdup($0) } + [nil]
        execv(unshare, cArgs)
        let reason = String(cString: strerror(errno))
        unsetenv(marker)
        note("exec of unshare failed: \(reason)")
    }
}
