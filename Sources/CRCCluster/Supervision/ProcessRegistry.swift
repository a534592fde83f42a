import CRCProcess
import NIOConcurrencyHelpers

/// Every process a run started, in order: the one part of a run that another thread reads (the
/// signal path kills them all on a second Ctrl-C; teardown stops them the other way round), so
/// the only part with a lock, and its lock inside it.
final class ProcessRegistry: Sendable {
    private struct Entries {
        var launchOrder: [String] = []
        var latest: [String: NodeProcess] = [:]
        var every: [NodeProcess] = []
    }
    private let entries = NIOLockedValueBox(Entries())

    /// A node's process started (the newest of its name).
    func record(_ name: String, _ p: NodeProcess) {
        entries.withLockedValue {
            $0.launchOrder.append(name)
            $0.latest[name] = p
            $0.every.append(p)
        }
    }

    /// A process that hosts many clients, each of which counts as started.
    func recordHost(_ p: NodeProcess, clients: [String]) {
        entries.withLockedValue {
            $0.every.append(p)
            $0.launchOrder.append(contentsOf: clients)
        }
    }

    /// Every node in the order it was started (teardown goes the other way).
    var launchOrder: [String] { entries.withLockedValue { $0.launchOrder } }
    /// The newest process of each node started by name, ready or not.
    var latest: [String: NodeProcess] { entries.withLockedValue { $0.latest } }
    /// Every process started: for teardown and force-kill.
    var all: [NodeProcess] { entries.withLockedValue { $0.every } }
}
