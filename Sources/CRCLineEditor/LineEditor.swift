import CEditLine
import CRCTerminal
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// Line editing for people at a terminal, through libedit: arrow keys, history (up/down, Ctrl-R),
/// Ctrl-A/E, and so on, instead of escape codes landing in what is sent. Lines printed while the
/// user types (events from the network) appear above the prompt, which is drawn again below them
/// with what was typed so far.
///
/// libedit is not thread-safe, so only the thread in `readLine` ever calls it. `printAbove`, from
/// any thread, queues its line and wakes that thread through a pipe; libedit waits for keys in
/// our `rl_getc_function`, which polls the terminal and the pipe together and draws queued lines
/// above the prompt between two keys, when libedit's line state is at rest. (Drawing them from the
/// network thread while libedit handled a key could split the line being typed.)
///
/// One editor per process (libedit's readline interface is global state).
public final class LineEditor: Sendable {
    public static let shared = LineEditor()

    private struct State {
        var reading = false
        var pending: [String] = []
    }
    private let state = NIOLockedValueBox(State())
    /// Written by `printAbove` (one byte per wake-up), read by the thread in `readLine`.
    private let wake: (read: Int32, write: Int32)

    private init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
        } else {
            fds = [-1, -1]
        }
        wake = (fds[0], fds[1])
        // Keys are decoded from UTF-8 (CRC's text) and libedit turns the line back into bytes by
        // the locale's character type: the user's if it is UTF-8, else C.UTF-8.
        _ = setlocale(LC_CTYPE, "")
        if String(cString: nl_langinfo(nl_item(CODESET))) != "UTF-8" { _ = setlocale(LC_CTYPE, "C.UTF-8") }
        crc_set_getc_function { _ in LineEditor.shared.nextKey() }
    }

    /// True when stdin and stdout are terminals: the only case where editing makes sense.
    public static var isInteractive: Bool { isatty(0) == 1 && isatty(1) == 1 }

    /// Reads one line with editing; nil at end of input (Ctrl-D on an empty line). Non-empty lines
    /// go into the history.
    public func readLine(prompt: String) -> String? {
        state.withLockedValue { $0.reading = true }
        let raw = readline(prompt)
        // Lines queued after the last key was read are printed plainly (the prompt is gone), under
        // the lock: before any line that `printAbove` prints from now on.
        state.withLockedValue { s in
            s.reading = false
            if !s.pending.isEmpty { writeFully(1, s.pending.map { $0 + "\n" }.joined()) }
            s.pending = []
        }
        guard let raw else { return nil }
        defer { free(raw) }
        let line = String(cString: raw)
        if !line.trimmingSpaces.isEmpty { _ = add_history(raw) }
        return line
    }

    /// Prints a whole line above the prompt (or plainly, when no line is being read).
    public func printAbove(_ line: String) {
        let queued = state.withLockedValue { s -> Bool in
            guard s.reading, wake.write >= 0 else {
                writeFully(1, line + "\n")  // under the lock: keeps lines whole and in order
                return false
            }
            s.pending.append(line)
            return true
        }
        if queued { var b: UInt8 = 1; _ = write(wake.write, &b, 1) }
    }

    /// libedit's source of keys (on the reading thread, inside `readline`): waits for the
    /// terminal or a wake-up; on a wake-up, draws the queued lines above the prompt and redraws
    /// it. Returns one character (decoded from UTF-8), or -1 at end of input.
    private func nextKey() -> Int32 {
        while true {
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, nfds_t(wake.read >= 0 ? 2 : 1), -1)
            if n < 0 { if errno == EINTR { continue }; return -1 }
            if fds[1].revents != 0 { drawQueued() }
            if fds[0].revents != 0 { return readCharacter() }
        }
    }

    private func drawQueued() {
        var sink = [UInt8](repeating: 0, count: 256)
        while read(wake.read, &sink, sink.count) > 0 {}
        let lines = state.withLockedValue { s -> [String] in
            defer { s.pending = [] }
            return s.pending
        }
        guard !lines.isEmpty else { return }
        writeFully(1, lines.map { "\r\u{1B}[K" + $0 + "\n" }.joined())
        rl_forced_update_display()
    }

    /// One character from stdin: the bytes of one UTF-8 sequence, as its code point (libedit
    /// stores what this returns as a wide character). -1 at end of input or on an error.
    private func readCharacter() -> Int32 {
        guard let first = readByte() else { return -1 }
        let extra: Int, initial: UInt32
        switch first {
        case 0..<0x80: return Int32(first)
        case 0xC0..<0xE0: (extra, initial) = (1, UInt32(first & 0x1F))
        case 0xE0..<0xF0: (extra, initial) = (2, UInt32(first & 0x0F))
        case 0xF0..<0xF8: (extra, initial) = (3, UInt32(first & 0x07))
        default: return 0xFFFD
        }
        var scalar = initial
        for _ in 0..<extra {
            guard let next = readByte(), next & 0xC0 == 0x80 else { return 0xFFFD }
            scalar = scalar << 6 | UInt32(next & 0x3F)
        }
        return Int32(bitPattern: scalar)
    }

    private func readByte() -> UInt8? {
        var b: UInt8 = 0
        while true {
            let n = read(0, &b, 1)
            if n == 1 { return b }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }
}

extension String {
    var trimmingSpaces: Substring { drop { $0 == " " || $0 == "\t" } }
}
