import CRCProcess
import NIOConcurrencyHelpers

/// The nodes of a run: every process it started, in order, and how each server and client is
/// reached and observed. Launching writes it (through these methods only); the checks, the
/// console and teardown read it, and the signal path reads it from another thread (a second
/// Ctrl-C kills every process), so it is the one part of a run with a lock, and its lock is inside.
final class NodeRegistry: @unchecked Sendable {  // every field is in `entries`, under its lock
    private struct Entries {
        var launchOrder: [String] = []
        var latest: [String: NodeProcess] = [:]
        var every: [NodeProcess] = []
        var servers: [String: ClusterRun.ServerNode] = [:]
        var clients: [String: ClientEndpoint] = [:]
        var hosts: [NodeProcess] = []
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
            $0.hosts.append(p)
            $0.launchOrder.append(contentsOf: clients)
        }
    }

    /// A server serves (or was refused, or was reached elsewhere): how the run reaches it.
    func set(server name: String, _ node: ClusterRun.ServerNode) { entries.withLockedValue { $0.servers[name] = node } }
    /// A client started: how the run drives and observes it.
    func set(client name: String, _ endpoint: ClientEndpoint) { entries.withLockedValue { $0.clients[name] = endpoint } }

    /// Every node in the order it was started (teardown goes the other way).
    var launchOrder: [String] { entries.withLockedValue { $0.launchOrder } }
    /// The newest process of each node started by name, ready or not.
    var latest: [String: NodeProcess] { entries.withLockedValue { $0.latest } }
    /// Every process started: for teardown and force-kill.
    var all: [NodeProcess] { entries.withLockedValue { $0.every } }
    var servers: [String: ClusterRun.ServerNode] { entries.withLockedValue { $0.servers } }
    var clients: [String: ClientEndpoint] { entries.withLockedValue { $0.clients } }
    /// Processes that host many clients each.
    var hosts: [NodeProcess] { entries.withLockedValue { $0.hosts } }
}
