import CRCTerminal
import Foundation
import NIOConcurrencyHelpers
import CRCProcess

/// Line-buffered, optionally coloured output shared by every node's stream: each line is written
/// whole with one write(2), so nothing interleaves mid-line.
public final class Console: Sendable {
    public let color: Bool
    public let prefix: Bool
    /// Each node's colour and the width of the widest name; held while a line is written, so
    /// lines from different threads never interleave.
    private let state = NIOLockedValueBox((colors: [String: String](), width: 0))
    private static let palette = ["36", "33", "32", "35", "34", "31", "96", "93", "92", "95", "94", "91"]

    public init(color: Bool?, prefix: Bool) {
        if let color {
            self.color = color
        } else {
            self.color = isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"].map { $0.isEmpty } ?? true
        }
        self.prefix = prefix
    }

    public func register(_ names: [String]) {
        state.withLockedValue { s in
            for n in names where s.colors[n] == nil { s.colors[n] = Self.palette[s.colors.count % Self.palette.count] }
            s.width = max(s.width, names.map(\.count).max() ?? 0, "crc-cluster".count)
        }
    }

    public func line(_ node: String, _ text: String, stream: NodeProcess.Stream = .stdout) {
        var out = ""
        state.withLockedValue { s in
            if prefix {
                let padded = node.padding(toLength: max(s.width, node.count), withPad: " ", startingAt: 0)
                out = color ? "\u{1B}[\(s.colors[node] ?? "0")m\(padded) |\u{1B}[0m " : "\(padded) | "
            }
            out += text + "\n"
            writeFully(1, out)
        }
    }

    public func say(_ text: String) { line("crc-cluster", text) }

    public func plain(_ text: String) { state.withLockedValue { _ in writeFully(1, text + "\n") } }

    public func error(_ text: String) { state.withLockedValue { _ in writeFully(2, text + "\n") } }
}

