import CRCProtocol
import CSystemShims
import Logging
import NIOCore

public struct ServerConfiguration: Sendable {
    public var id: UInt32
    public var name: String
    public var info: String
    public var bindHost: String = "127.0.0.1"
    /// 0 picks any free port; the chosen one is reported on the ready line.
    public var port: Int
    public var upstream: (host: String, port: Int)?
    /// HTTP monitoring endpoint (`GET /state`); nil disables it, 0 picks a free port.
    public var monitorPort: Int?
    public var logFile: String?
    public var logLevel: Logger.Level = .info
    /// Level of the text log on stderr; nil means `logLevel`.
    public var stderrLevel: Logger.Level?
    public var limits: Limits = .default
    /// A connection that has not registered within this time is closed (IRC servers use 20-30 s).
    public var registerTimeout: TimeAmount = .seconds(20)
    /// Connections beyond this many are closed as soon as they are accepted.
    public var maxConnections = 4096
    /// A peer slower than its producers is handled by back-pressure (the server stops reading
    /// from the producers until it catches up); one that takes nothing at all for this long while
    /// others wait for it is disconnected as a slow consumer.
    public var slowConsumerTimeout: TimeAmount = .seconds(10)
    /// Hard caps on what may queue for one peer, whatever the timeout: a client link, and a server
    /// link (which carries everyone's traffic).
    public var maxClientQueueBytes = 4 << 20
    public var maxServerQueueBytes = 64 << 20
    /// TCP keepalive: a peer that vanished without closing is detected after about
    /// idle + interval × count seconds and handled like a closed link.
    public var keepaliveIdle = 10
    public var keepaliveInterval = 5
    public var keepaliveCount = 3
    /// Which peers to expect: `.course` never sends server quit (0x02), which course-style
    /// servers cannot parse.
    public var compat: PeerProfile = .standard
    /// After the upstream link is lost, keep reconnecting and rejoin once the upstream is back.
    public var rejoinUpstream = true

    /// 4096, or the open-files limit less 32 (the listeners, the log, the monitor's connections)
    /// when that is lower: past it, accepting fails with EMFILE instead of a clear refusal.
    public static func defaultMaxConnections() -> Int {
        let limit = crc_open_files_limit()
        guard limit > 0 else { return 4096 }
        return max(1, min(4096, limit - 32))
    }

    public init(id: UInt32, name: String, info: String, port: Int) {
        self.id = id
        self.name = name
        self.info = info
        self.port = port
    }
}

/// Where to connect for a `--connect_to_host`/`--serverhost` value. The seed's harness passes the
/// upstream's *name* ("theshire") and always means this machine; an IP address, `localhost`, or a
/// dotted host name is taken as a real address.
public func resolveSeedHost(_ host: String) -> (address: String, isSeedName: Bool) {
    if host == "localhost" { return ("127.0.0.1", false) }
    if host.contains(".") || host.contains(":") { return (host, false) }
    return ("127.0.0.1", true)
}

/// The kind of neighbours a server talks to.
public enum PeerProfile: String, CaseIterable, Sendable {
    /// This project's servers: every message of docs/protocol.md, server quit included.
    case standard
    /// The course's servers and students' servers written from its template (docs/protocol.md,
    /// "Course peers"): no server quit is ever sent to them.
    case course
}
