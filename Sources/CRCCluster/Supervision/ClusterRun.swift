import CRCCore
import CSystemShims
import Foundation
import NIOPosix
import CRCProcess

public struct RunOptions: Sendable {
    /// The command that runs a CRC server (and a client): executable plus leading arguments.
    public var serverCommand: [String]
    public var clientCommand: [String]
    /// Where `logs/<run-id>/` goes.
    public var logRoot: URL
    /// How long the network may take to settle after a step.
    public var settleTimeout: TimeInterval = 5
    public var onOutput: (@Sendable (String, NodeProcess.Stream, String) -> Void)?
    public var onProgress: (@Sendable (String) -> Void)?
    /// Clients per process: 1 runs each client as its own crc-client; more groups them into shared
    /// host processes (`hostCommand`), for networks of thousands of clients.
    public var clientsPerProcess = 1
    public var hostCommand: [String] = []
    /// What servers print on stderr (their files always get every event, at debug level).
    public var serverStderrLevel = "info"
    /// Coarse progress: one line per launch phase.
    public var onPhase: (@Sendable (String) -> Void)?
    /// The default node commands are this package's executables, which arm their own parent-death
    /// signal; set false when `serverCommand`/`clientCommand` name other programs.
    public var nodesArmParentDeath = true
    /// True once the user asked the run to stop (Ctrl-C): checks and steps give up at once.
    public var interrupted: (@Sendable () -> Bool)?
    /// Tap every link (always done when a node runs another implementation): record each message
    /// to `wire.jsonl` and check routing from the wire.
    public var tap = false
    /// How strictly the wire is judged.
    public var wireProfile: WireProfile = .course
    /// Start no server: attach to the servers the topology locates (`host`, `port`, `monitor`).
    public var attach = false
    /// The lines written to the stdin of a client that runs another implementation to make it chat
    /// or quit (placeholders {to} and {text}); by default crc-client's own commands.
    public var foreignChat = "msg {to} {text}"
    public var foreignQuit = "quit {text}"
    /// Other implementations' servers run in crc-cluster's class host (`grade --course-python`):
    /// each reports a state port, and its object's attributes are checked beside the wire.
    public var classHostedServers = false
    /// Other implementations' clients run in crc-cluster's client host (`grade --course-python-client`).
    public var classHostedClients = false
    /// Other implementations' processes run inside these limits (`grade`): see `Sandbox`.
    public var sandbox: Sandbox?
    /// Wall-clock seconds a scenario may take in all; past it, it fails saying so.
    public var timeLimit: TimeInterval?
    /// Controlled delivery (`explore`): every link is relayed and tapped, and this gate decides
    /// when each message passes and when each node starts. One run's: give each run its own.
    public var gate: (any DeliveryGate)?

    public init(serverCommand: [String], clientCommand: [String], logRoot: URL) {
        self.serverCommand = serverCommand
        self.clientCommand = clientCommand
        self.logRoot = logRoot
    }
}

/// A running network: the processes of one topology, the model of what they must know, and the
/// checks that compare the two. Effects live here; the expectations come from `NetworkModel`.
public final class ClusterRun: @unchecked Sendable {  // driven by one thread at a time (a scenario's, or up's console under its `busy` lock); what the signal path reads is in its NodeRegistry, which locks itself
    public struct ServerNode {
        public var process: NodeProcess
        public var port: Int
        public var monitorPort: Int?
        public var logFile: URL
        /// Where it listens (another machine's, for an attached server).
        public var host = "127.0.0.1"
        /// Not started by crc-cluster (`check --attach`): its process is a placeholder that never runs.
        public var attached = false
        /// How its state is read, chosen when it started (or was reached).
        var observer: any ServerObserver
    }

    public struct ExitRecord: Sendable {
        public var node: String
        public var pid: Int32
        public var status: String
    }

    public let topology: Topology
    public let runID: String
    public let runDir: URL
    public let options: RunOptions
    public internal(set) var model: NetworkModel
    /// The nodes started and how each is reached: written by launching only, locked inside.
    let nodes = NodeRegistry()
    public var servers: [String: ServerNode] { nodes.servers }
    public var clients: [String: ClientEndpoint] { nodes.clients }
    /// Processes that host many clients each (with `clientsPerProcess` > 1).
    public var clientHosts: [NodeProcess] { nodes.hosts }
    /// Every node in the order it was started (teardown goes the other way).
    public var launchOrder: [String] { nodes.launchOrder }
    /// What the run did, in order (steps, chats, quits): what the checks and the report read.
    public internal(set) var history = RunHistory()
    /// The next step (a chat or a quit) may go before the network has settled (under a gate that
    /// races commands; `ScenarioRunner` decides which steps do), and the raced chats judged so far.
    public var racesNextStep = false
    var judgedChats: Set<Int> = []
    /// How the last teardown went: seconds in all, waves, and the slowest wave's seconds.
    public internal(set) var lastTeardown: (seconds: Double, waves: Int, slowestWave: Double)?
    /// Processes the nodes had started and left running, killed at teardown.
    public internal(set) var leftoversKilled = 0
    /// The relays on links: cut, delay, heal, and the taps.
    let faults: FaultController
    /// What the taps saw, when links are tapped (`RunOptions.tap`, or another implementation in the tree).
    public let wire: WireLog?
    /// The tree as the wire checks see it.
    let links: WireChecker.Links
    /// The run's clock: the wire's times and the steps' marks are seconds since this.
    let clockStart = DispatchTime.now().uptimeNanoseconds
    public var now: Double { Double(DispatchTime.now().uptimeNanoseconds - clockStart) / 1e9 }
    let startedAt = Date()
    /// The limits other implementations' processes run under, with this run's own uid when
    /// crc-cluster is root.
    let sandbox: Sandbox?

    public init(topology: Topology, options: RunOptions, runID: String) throws {
        self.topology = topology
        self.options = options
        self.model = NetworkModel(topology: topology)
        self.runID = runID
        let tapped = options.tap || topology.hasForeignNodes || options.gate != nil
        wire = tapped ? WireLog(start: clockStart) : nil
        links = WireChecker.Links(topology: topology)
        if options.attach {
            // Only the links of crc-cluster's own clients can be tapped: the servers link themselves.
            faults = FaultController(relayedLinks: tapped ? Set(topology.clients.filter { $0.external != true }.map(\.name)) : [], tap: wire)
        } else {
            faults = FaultController(relayedLinks: tapped ? Set(topology.servers.filter { $0.upstream != nil }.map(\.name) + topology.clients.map(\.name))
                                  : Set(topology.steps.compactMap(\.action.faultedLink)), tap: wire, gate: options.gate)
        }
        runDir = options.logRoot.appendingPathComponent(runID)
        try Self.makeFreshDirectory(runDir)
        var sandbox = options.sandbox
        if sandbox?.ownUser == true, Sandbox.canChangeUser {
            let uid = SandboxUsers.take()
            sandbox?.uid = uid
            // The graded processes write their logs here, and nowhere else of the machine's.
            chown(runDir.path, uid, uid)
        }
        self.sandbox = sandbox
        let latest = options.logRoot.appendingPathComponent("latest")
        try? FileManager.default.removeItem(at: latest)
        try? FileManager.default.createSymbolicLink(atPath: latest.path, withDestinationPath: runID)
    }

    /// Creates the run's log folder, which must not exist yet (run ids are random; a clash is
    /// an error rather than two runs mixing their logs), with a plain message when it cannot.
    static func makeFreshDirectory(_ dir: URL) throws {
        let parent = dir.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw ClusterError("cannot create the log folder \(parent): \(describeFileError(error)) (choose another with --logs)")
        }
        guard mkdir(dir.path, 0o755) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ClusterError("cannot create the run's log folder \(dir.path): \(reason) (choose another with --logs)")
        }
    }

    public static func makeRunID(_ name: String) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        let safe = name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        let suffix = String(UInt64.random(in: 0...UInt64(UInt32.max)) | (1 << 32), radix: 16).dropFirst()  // 8 hex digits
        return "\(f.string(from: Date()))-\(String(safe))-\(suffix)"
    }

    func logFile(_ node: String) -> URL { runDir.appendingPathComponent("\(node).log") }

}

/// "Permission denied", "No such file or directory": the POSIX reason behind a Foundation file
/// error, instead of its NSCocoaErrorDomain dump.
public func describeFileError(_ error: Error) -> String {
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    switch ns.code {
    case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
    case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or folder"
    case NSFileWriteOutOfSpaceError: return "no space left on the device"
    case NSFileWriteVolumeReadOnlyError: return "read-only file system"
    default: return ns.localizedDescription
    }
}

extension ClusterRun {
    /// Where `key` ends in `line`, if it occurs (a plain byte scan: nodes put "ts" first, so this
    /// returns within a few bytes, where a generic search costs a run of a million lines seconds).
    static func end(of key: [UInt8], in line: ArraySlice<UInt8>) -> Int? {
        guard let first = key.first, line.count >= key.count else { return nil }
        var i = line.startIndex
        let last = line.endIndex - key.count
        while i <= last {
            if line[i] == first {
                var j = 1
                while j < key.count, line[i + j] == key[j] { j += 1 }
                if j == key.count { return i + key.count }
            }
            i += 1
        }
        return nil
    }
}

/// Seconds since the epoch for "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (the nodes' log format), parsed by
/// hand: a timeline merges thousands of lines, and a date formatter per line costs more than the run.
func parseTimestamp(_ s: String) -> Double? {
    let u = Array(s.utf8)
    guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T") else { return nil }
    func num(_ a: Int, _ b: Int) -> Int? {
        var v = 0
        for i in a..<b {
            let d = Int(u[i]) - 48
            guard (0...9).contains(d) else { return nil }
            v = v * 10 + d
        }
        return v
    }
    guard let y = num(0, 4), let mo = num(5, 7), let d = num(8, 10), let h = num(11, 13), let mi = num(14, 16),
          let se = num(17, 19) else { return nil }
    var t = tm()
    t.tm_year = Int32(y - 1900); t.tm_mon = Int32(mo - 1); t.tm_mday = Int32(d)
    t.tm_hour = Int32(h); t.tm_min = Int32(mi); t.tm_sec = Int32(se)
    var fraction = 0.0, scale = 0.1, i = 19
    if i < u.count, u[i] == UInt8(ascii: ".") {
        i += 1
        while i < u.count, let digit = Optional(Int(u[i]) - 48), (0...9).contains(digit) {
            fraction += Double(digit) * scale
            scale /= 10
            i += 1
        }
    }
    return Double(timegm(&t)) + fraction
}

