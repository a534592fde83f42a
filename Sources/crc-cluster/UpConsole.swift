import CRCCluster
import CRCLineEditor
import Foundation
import CRCProcess
import CRCLive
import NIOConcurrencyHelpers

/// How `up` shows what happens.
enum OutputFormat: String, CaseIterable {
    /// Joins, leaves, chats, statuses, faults, convergence: one readable line each.
    case human
    /// Every node event as a JSON object with the node's name (crc-cluster's polling left out).
    case json
    /// Every line every node prints, prefixed with its name.
    case raw
}

/// Where `up`'s lines go: above the prompt when a person is typing, else straight out.
final class UpOutput: ConsoleOutput {
    let interactive: Bool
    let console: Console
    let color: Bool
    let started = Date()

    init(console: Console, interactive: Bool) {
        self.console = console
        self.interactive = interactive
        color = console.color
    }

    /// The live view's session, told everything the console says.
    private let live = NIOLockedValueBox<LiveSession?>(nil)
    func mirror(_ session: LiveSession) { live.withLockedValue { $0 = session } }

    func line(_ text: String) {
        if interactive { LineEditor.shared.printAbove(text) } else { console.plain(text) }
        live.withLockedValue { $0 }?.said("line", text)
    }

    /// A narrated event, stamped with the seconds since `up` started and coloured by kind.
    func event(_ kind: Narration.Kind, _ text: String) {
        let stamp = String(format: "%8.3f  ", Date().timeIntervalSince(started))
        live.withLockedValue { $0 }?.said(kind.rawValue, stamp + text)
        guard color else { return show(stamp + text) }
        let code: String
        switch kind {
        case .joins: code = "32"
        case .chats: code = "36"
        case .statuses: code = "33"
        case .faults: code = "31"
        case .convergence: code = "35"
        }
        show("\u{1B}[2m\(stamp)\u{1B}[0m\u{1B}[\(code)m\(text)\u{1B}[0m")
    }

    private func show(_ text: String) {
        if interactive { LineEditor.shared.printAbove(text) } else { console.plain(text) }
    }
}


