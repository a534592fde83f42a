import CEditLine
import CRCTerminal
#if canImport(Glibc)
import Glibc
#endif

/// Line editing for people at a terminal, through libedit: arrow keys, history (up/down, Ctrl-R),
/// Ctrl-A/E, and so on, instead of escape codes landing in what is sent. Lines printed while the
/// user types (events from the network) appear above the prompt, which is drawn again below them
/// with what was typed so far.
///
/// One editor per process (libedit's readline interface is global state); `readLine` runs on one
/// thread, and `printAbove` may be called from any other: a lock keeps their output apart.
public final class LineEditor: @unchecked Sendable {  // libedit's state is guarded by `lock`
    public static let shared = LineEditor()

    /// On the heap: a mutex must not move, and Swift gives `&property` no stable address.
    private let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        m.initialize(to: pthread_mutex_t())
        return m
    }()
    private var reading = false

    private init() {
        pthread_mutex_init(lock, nil)
    }

    /// True when stdin and stdout are terminals: the only case where editing makes sense.
    public static var isInteractive: Bool { isatty(0) == 1 && isatty(1) == 1 }

    /// Reads one line with editing; nil at end of input (Ctrl-D on an empty line). Non-empty lines
    /// go into the history.
    public func readLine(prompt: String) -> String? {
        pthread_mutex_lock(lock)
        reading = true
        pthread_mutex_unlock(lock)
        guard let raw = readline(prompt) else {
            pthread_mutex_lock(lock)
            reading = false
            pthread_mutex_unlock(lock)
            return nil
        }
        defer { free(raw) }
        let line = String(cString: raw)
        pthread_mutex_lock(lock)
        reading = false
        if !line.trimmingSpaces.isEmpty { _ = add_history(raw) }
        pthread_mutex_unlock(lock)
        return line
    }

    /// Prints a whole line above the prompt (or plainly, when no line is being read).
    public func printAbove(_ line: String) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if reading {
            writeFully(1, "\r\u{1B}[K" + line + "\n")
            rl_forced_update_display()
        } else {
            writeFully(1, line + "\n")
        }
    }
}

extension String {
    var trimmingSpaces: Substring { drop { $0 == " " || $0 == "\t" } }
}
