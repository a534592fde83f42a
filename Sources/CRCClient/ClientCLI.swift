import ArgumentParser
import CRCLineEditor
import CRCProtocol

/// The command line of the executable (also embedded in crc-cluster).
public struct ClientCLI: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "crc-client",
        abstract: "A Clemson Relay Chat client: chat with the other users of a CRC network.",
        discussion: """
        Connects to one server, registers, and reads commands from stdin:

        \(ClientCommand.helpText)

        Without --json, events are printed for a person:
          *** Welcome ...        --> name (id) joined        <-- name (id) left: text
          [name] chat text       !!! status text (unknown id, duplicate id)

        With --json, every event is one JSON object a line on stdout, for programs (crc-cluster \
        drives clients this way): registered, refused, user_joined, user_left, chat, status, \
        disconnected, error, users, state. The `state` command prints known users, the chat log and \
        the status log.

        At a terminal, lines are edited with libedit (arrow keys, history, Ctrl-R) behind a \
        prompt, events appear above it, and each chat sent is echoed as -> [name] text. Commands \
        typed or piped before the server's welcome wait for it, and a message to a name nobody \
        has announced yet waits up to 2 s for that user to join.

        EXIT STATUS: 0 after /quit, end of input or SIGINT; 1 when the server cannot be reached; \
        2 when the id was refused as a duplicate; 3 when the server closed the connection; 4 when \
        the server never answered the registration (not a CRC server?); 64 for bad options.
        """,
        version: crcVersion)

    @Option(name: .customLong("id"), help: "This client's 32-bit id, unique in the network (not 0).")
    var id: UInt32

    @Option(name: [.customShort("S"), .customLong("serverhost")], help: "Server to attach to: its name (seed style, means 127.0.0.1) or a host/address.")
    var serverHost: String

    @Option(name: [.customShort("P"), .customLong("serverport")], help: "Server's port.")
    var serverPort: Int

    @Option(name: [.customShort("U"), .customLong("username")], help: "This client's user name (at most 255 bytes).")
    var username: String

    @Option(name: [.customShort("I"), .customLong("info")], help: "Free-text description of this user.")
    var info: String = ""

    @Option(name: .customLong("log-file"), help: "Append every event as a JSON line to this file.")
    var logFile: String?

    @Flag(name: .customLong("json"), help: "Machine mode: one JSON object a line on stdout for every event.")
    var json = false

    public func validate() throws {
        guard id != 0 else { throw ValidationError("--id must not be 0: it is reserved for \"no one\".") }
        guard username.utf8.count <= 255 else { throw ValidationError("--username is longer than 255 bytes.") }
        guard info.utf8.count <= 65_535 else { throw ValidationError("--info is longer than 65,535 bytes.") }
        guard (1...65_535).contains(serverPort) else { throw ValidationError("--serverport must be 1-65535, got \(serverPort).") }
        guard registerTimeout > 0 else { throw ValidationError("--register-timeout must be positive.") }
    }

    @Option(name: .customLong("register-timeout"), help: "Seconds to wait for the server to answer the registration before giving up (exit 4).")
    var registerTimeout: Double = 10

    public func run() throws {
        var config = ClientConfiguration(id: id, username: username, info: info, serverHost: serverHost,
                                         serverPort: serverPort, logFile: logFile, json: json)
        config.registerTimeout = .milliseconds(Int64(registerTimeout * 1000))
        config.interactive = !json && LineEditor.isInteractive
        let code = ClientApp.run(config)
        if code != .ok { throw ExitCode(code.rawValue) }
    }
}

