/// A line typed by a person, or written by a program on stdin. The leading slash is optional,
/// and the seed harness's own spelling (`MESSAGE <id> <text>`, `QUIT <text>`) is accepted.
public enum ClientCommand: Equatable, Sendable {
    /// Send `text` to a user given by id or by name. The text is kept verbatim, quotes included.
    case message(to: String, text: String)
    case users
    case state
    /// A short form of `state` for programs: the number of users and a fingerprint of their ids
    /// (`usersDigest`), with the chat and status logs.
    case digest
    case quit(text: String)
    case help
    case empty
    case invalid(String)

    public static let helpText = """
    Commands (the leading / is optional):
      /msg <id|name> <text>   send a chat (also: MESSAGE <id> <text>)
      /users                  list the users this client knows
      /state                  print this client's state as JSON (/digest: a short form for programs)
      /quit [text]            leave the network with a message (also: QUIT <text>; Ctrl-D)
      /help                   this list
    """

    public static func parse(_ line: String) -> ClientCommand {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard !trimmed.isEmpty else { return .empty }
        let body = trimmed.hasPrefix("/") ? trimmed.dropFirst() : trimmed
        let (word, rest) = splitWord(body)
        switch word.lowercased() {
        case "msg", "message", "m":
            let (to, text) = splitWord(rest)
            guard !to.isEmpty else { return .invalid("usage: /msg <id|name> <text>") }
            guard !text.isEmpty else { return .invalid("nothing to send to \(shown(to)): usage: /msg <id|name> <text>") }
            return .message(to: String(to), text: String(text))
        case "users", "who":
            return .users
        case "state":
            return .state
        case "digest":
            return .digest
        case "quit", "exit", "q":
            return .quit(text: String(rest))
        case "help", "?":
            return .help
        default:
            return .invalid("unknown command '\(shown(word))'; type /help for the list")
        }
    }

    /// A word as it may be shown back: at most 40 characters, so a pasted megabyte is not echoed.
    static func shown(_ word: Substring) -> String {
        word.count <= 40 ? String(word) : String(word.prefix(40)) + "… (\(word.utf8.count) bytes)"
    }

    /// First space-separated word, and the rest after exactly one separating space run.
    static func splitWord(_ s: Substring) -> (Substring, Substring) {
        guard let space = s.firstIndex(of: " ") else { return (s, "") }
        var rest = s[space...]
        while rest.first == " " { rest = rest.dropFirst() }
        return (s[..<space], rest)
    }
}
