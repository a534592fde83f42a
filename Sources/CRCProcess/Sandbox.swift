import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Limits for a process that runs code nobody vouches for (a student's server being graded). The
/// kernel enforces them: resource limits set by util-linux's `prlimit` just before the program
/// starts, and, when crc-cluster runs as root, an unprivileged uid of the run's own (`setpriv
/// --reuid`) so the process limit counts only that run's processes and nothing else of the
/// machine can be written. crc-cluster itself caps what it keeps of the output.
public struct Sandbox: Sendable, Equatable {
    /// Processes and threads of the run's uid at once (RLIMIT_NPROC; with a uid of its own only).
    public var processes = 256
    /// CPU seconds per process (RLIMIT_CPU).
    public var cpuSeconds = 120
    /// Address space per process (RLIMIT_AS).
    public var memoryBytes = 2 << 30
    /// Largest file a process may write (RLIMIT_FSIZE).
    public var fileBytes = 64 << 20
    /// Open descriptors per process (RLIMIT_NOFILE): sockets and files.
    public var openFiles = 256
    /// Output crc-cluster keeps of each stream of each process; the rest is read, counted and dropped.
    public var outputBytes = 4 << 20
    /// Give each run an unprivileged uid of its own (root only; the files the graded processes
    /// need must be reachable by other users: see `othersCanReach`).
    public var ownUser = false
    /// The uid (and gid) the process runs as; nil keeps crc-cluster's own.
    public var uid: UInt32?

    public init() {}

    public static let prlimitPath: String? = ["/usr/bin/prlimit", "/bin/prlimit"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// True when crc-cluster can give each run a uid of its own.
    public static var canChangeUser: Bool { geteuid() == 0 && NodeProcess.setprivPath != nil }

    /// The command that starts `executable` inside these limits (setpriv's pdeathsig included).
    func launch(_ executable: String, _ arguments: [String]) throws -> (path: String, arguments: [String]) {
        guard let prlimit = Self.prlimitPath else {
            throw ClusterError("cannot sandbox graded programs: prlimit (util-linux) is not installed (apt-get install util-linux, or grade with --no-sandbox)")
        }
        guard let setpriv = NodeProcess.setprivPath else {
            throw ClusterError("cannot sandbox graded programs: setpriv (util-linux) is not installed (apt-get install util-linux, or grade with --no-sandbox)")
        }
        var args: [String] = []
        if let uid { args += ["--reuid", "\(uid)", "--regid", "\(uid)", "--clear-groups"] }
        args += ["--pdeathsig", "KILL", "--", prlimit,
                 "--nproc=\(processes)", "--cpu=\(cpuSeconds)", "--as=\(memoryBytes)",
                 "--fsize=\(fileBytes)", "--nofile=\(openFiles)", "--core=0", "--", executable] + arguments
        return (setpriv, args)
    }

    /// True when a user other than the owner can reach `path`: every folder above it searchable
    /// by others, and the file readable (and, with `execute`, executable) by them.
    public static func othersCanReach(_ path: String, execute: Bool = false) -> Bool {
        let url = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL
        var st = stat()
        guard stat(url.path, &st) == 0 else { return false }
        let need: mode_t = execute ? (S_IROTH | S_IXOTH) : S_IROTH
        if (st.st_mode & S_IFMT) == S_IFDIR ? (st.st_mode & S_IXOTH) == 0 : (st.st_mode & need) != need { return false }
        var dir = url.deletingLastPathComponent()
        while dir.path != "/" {
            guard stat(dir.path, &st) == 0, st.st_mode & S_IXOTH != 0 else { return false }
            dir = dir.deletingLastPathComponent()
        }
        return true
    }

    /// One line for people: what is enforced.
    public var summary: String {
        func size(_ b: Int) -> String { b >= 1 << 30 ? "\(b >> 30) GiB" : b >= 1 << 20 ? "\(b >> 20) MiB" : "\(b >> 10) KiB" }
        return "\(processes) processes\(ownUser ? " under a uid of each run's own" : " (not enforced for root: no uid of its own)"), \(cpuSeconds) s of CPU, \(size(memoryBytes)) of memory, "
            + "\(size(fileBytes)) a file, \(openFiles) open files, \(size(outputBytes)) of output kept per stream"
    }
}

/// Unprivileged uids for sandboxed runs, one per run, reused in turn (62000 – 63999).
public enum SandboxUsers {
    private static let next = NIOLockedCounter()
    public static func take() -> UInt32 { 62_000 + UInt32(next.increment() % 2_000) }
}

/// A counter behind a lock (Foundation's, to keep this module's dependencies as they are).
final class NIOLockedCounter: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
