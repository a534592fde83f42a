/// A command typed into `up`'s console. Parsing is pure; `up` carries them out.
public enum ConsoleCommand: Sendable, Equatable {
    case help
    case tree
    case nodes
    case state(String)
    case chat(from: String, to: String, text: String)
    case path(from: String, to: String)
    /// A step that changes the network: start/stop/kill/restart, cut/heal/delay, quit.
    case step(Step)
    case watch(Bool)
    case exit

    public static let usage = """
    commands (nodes by name; chat destinations by name or id):
      tree                      the servers and clients, as they are now
      nodes                     every node: kind, id, pid, port, status
      state NODE                what a node knows: hosts and first links, neighbours, status log
      chat FROM TO TEXT         send a chat; prints the path it took, hop by hop, with timings
      path FROM TO              the tree path between two nodes, without sending anything
      quit CLIENT [TEXT]        a client leaves the network
      stop|kill|start|restart NODE
      cut|heal SERVER           cut or heal the link between a server and its upstream
      delay SERVER MS           hold every byte on that link MS milliseconds
      watch on|off              a line per message per hop while on
      help, exit
    every command that changes the network waits until it has converged again and says how long it took.
    """

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Parses one line; nil for an empty line or a comment (`#`).
    public static func parse(_ line: String) throws -> ConsoleCommand? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        let words = trimmed.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let verb = words[0].lowercased()
        let args = Array(words.dropFirst())
        func need(_ n: Int, _ usage: String) throws {
            if args.count < n { throw ParseError(description: "usage: \(usage)") }
        }
        /// Everything after the first `n` words, spacing kept.
        func rest(after n: Int) -> String {
            var s = Substring(trimmed)
            for _ in 0..<n {
                s = s.drop { $0 != " " }
                s = s.drop { $0 == " " }
            }
            return String(s)
        }
        switch verb {
        case "help", "?": return .help
        case "tree": return .tree
        case "nodes", "ps": return .nodes
        case "exit", "bye": return .exit
        case "state":
            try need(1, "state NODE")
            return .state(args[0])
        case "chat", "msg":
            try need(3, "chat FROM TO TEXT")
            return .chat(from: args[0], to: args[1], text: rest(after: 3))
        case "path":
            try need(2, "path FROM TO")
            return .path(from: args[0], to: args[1])
        case "quit":
            try need(1, "quit CLIENT [TEXT]")
            return .step(.quit(client: args[0], text: rest(after: 2)))
        case "stop", "kill", "start", "restart", "cut", "heal":
            try need(1, "\(verb) NODE")
            let n = args[0]
            switch verb {
            case "stop": return .step(.stop(n))
            case "kill": return .step(.kill(n))
            case "start": return .step(.start(n))
            case "restart": return .step(.restart(n))
            case "cut": return .step(.cut(n))
            default: return .step(.heal(n))
            }
        case "delay":
            try need(2, "delay SERVER MS")
            guard let ms = Int(args[1]), (0...60_000).contains(ms) else {
                throw ParseError(description: "delay: MS must be a number of milliseconds, 0-60000")
            }
            return .step(.delay(args[0], milliseconds: ms))
        case "watch":
            try need(1, "watch on|off")
            switch args[0].lowercased() {
            case "on": return .watch(true)
            case "off": return .watch(false)
            default: throw ParseError(description: "usage: watch on|off")
            }
        default:
            throw ParseError(description: "unknown command '\(words[0])' (type help for the list)")
        }
    }
}
