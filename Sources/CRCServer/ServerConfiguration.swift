import CRCProtocol
import Logging

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
