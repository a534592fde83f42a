import CSystemShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reaps every child of this process on one thread (`waitpid(-1)`), records how each ended, and
/// wakes whoever waits for one. With `becomeSubreaper()`, orphaned descendants of the nodes (a
/// node's command that forked and exited, a daemon that called setsid) are re-parented here
/// instead of to init, so they are reaped too and never linger as zombies.
///
/// Children must be started through `spawn` (which registers them under the same lock the reaper
/// records under), and no other API in the process may wait for children: Foundation's `Process`
/// is not used (its `run()` over-reads a table when many descriptors are open, and crashed
/// crc-cluster under parallel load on this toolchain; swift-corelibs-foundation PR #5472).
public final class ChildReaper: @unchecked Sendable {  // `statuses` and `children` are guarded by `condition`
    public static let shared = ChildReaper()

    private let condition = NSCondition()
    private var statuses: [pid_t: Int32] = [:]
    private var children = 0
    private var started = false

    private init() {}

    /// Orphaned descendants are re-parented to this process (Linux `PR_SET_CHILD_SUBREAPER`).
    @discardableResult
    public static func becomeSubreaper() -> Bool {
        crc_become_child_subreaper() == 0
    }

    /// Starts `path` with `arguments` (argv[0] is added), `environment`, and the three standard
    /// descriptors given, in a process group of its own. Returns the pid.
    func spawn(path: String, arguments: [String], environment: [String: String], workingDirectory: String?,
               stdin: Int32, stdout: Int32, stderr: Int32) throws -> pid_t {
        startIfNeeded()
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        condition.lock()
        defer { condition.unlock() }
        // Under the lock: the reaper cannot record this pid's exit before a stale entry for a
        // reused pid is cleared.
        let rc = crc_spawn(path, argv, envp, workingDirectory, stdin, stdout, stderr, &pid)
        guard rc == 0 else { throw ClusterError("cannot start \(path): \(String(cString: strerror(rc)))") }
        statuses[pid] = nil
        children += 1
        condition.broadcast()
        return pid
    }

    /// The raw wait status of `pid`, if it has ended.
    func status(of pid: pid_t) -> Int32? {
        condition.lock()
        defer { condition.unlock() }
        return statuses[pid]
    }

    /// Waits until `pid` has ended or the deadline passes.
    func wait(for pid: pid_t, until deadline: Date) -> Int32? {
        condition.lock()
        defer { condition.unlock() }
        while statuses[pid] == nil {
            if !condition.wait(until: deadline) { return statuses[pid] }
        }
        return statuses[pid]
    }

    private func startIfNeeded() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        // A child that died must fail a write to its stdin, not kill the supervisor.
        signal(SIGPIPE, SIG_IGN)
        let thread = Thread { [self] in loop() }
        thread.name = "crc-reaper"
        thread.stackSize = 1 << 18
        thread.start()
    }

    private func loop() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid > 0 {
                // Every child leads a process group of its own: whatever it started there goes
                // with it, now — while the group's id cannot yet have been given to a new process
                // (a pid is not reused while a group still carries it; once the group is empty,
                // a later kill by that id could hit a stranger).
                kill(-pid, SIGKILL)
                condition.lock()
                statuses[pid] = status
                children = max(0, children - 1)
                condition.broadcast()
                condition.unlock()
            } else if errno == ECHILD {
                // Nothing to wait for (orphans re-parented here count as children too, and
                // waitpid finds them): sleep until the next spawn, or poll now and then for them.
                condition.lock()
                _ = condition.wait(until: Date().addingTimeInterval(children == 0 ? 0.2 : 0.01))
                condition.unlock()
            }
        }
    }

    /// Every process that carries `CRC_CLUSTER_RUN=<tag>` in its environment: the nodes of one
    /// run and whatever they started, wherever they were re-parented to.
    public static func processes(taggedWith tag: String) -> [pid_t] {
        let needle = Array("\(runTagVariable)=\(tag)".utf8) + [0]
        let me = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [pid_t] = []
        for entry in entries {
            guard let pid = pid_t(entry), pid != me,
                  let environ = ProcFile.bytes("/proc/\(entry)/environ") else { continue }
            let bytes = environ + [0]
            // Entries are NUL-separated; match a whole entry.
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: 0) ?? bytes.count
                if end - start == needle.count - 1, Array(bytes[start...end]) == needle { found.append(pid); break }
                start = end + 1
            }
        }
        return found
    }

    /// The environment variable that tags a run's processes.
    public static let runTagVariable = "CRC_CLUSTER_RUN"

    /// Kills (SIGKILL) every process tagged with `tag`, until none is left or `timeout` passes.
    /// Returns how many it found.
    @discardableResult
    public static func killTagged(_ tag: String, timeout: TimeInterval = 2) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = Set<pid_t>()
        while true {
            // Zombies keep their environment readable until reaped; skip those already signalled.
            let pids = processes(taggedWith: tag).filter { !isZombie($0) }
            if pids.isEmpty || Date() >= deadline { return seen.count }
            for pid in pids {
                seen.insert(pid)
                kill(pid, SIGKILL)
            }
            usleep(5_000)
        }
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        guard let s = ProcFile.text("/proc/\(pid)/stat"),
              let close = s.lastIndex(of: ")") else { return true }
        let state = s[s.index(after: close)...].dropFirst().first
        return state == "Z" || state == "X"
    }
}
