import Foundation

/// Reading topology files: YAML syntax and types first, then every semantic problem at once.
public enum TopologyLoader {
    /// Reads `path` from disk or, when no such file exists, from the built-in topologies/ folder.
    public static func load(path: String) throws -> Topology {
        guard FileManager.default.fileExists(atPath: path) else {
            if let builtIn = BuiltInScenarios.file(path) { return try parse(builtIn.text, file: path) }
            throw YAMLError(file: path, mark: nil, message: "no such file (and no built-in one of that name: crc-cluster scenarios lists them)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw YAMLError(file: path, mark: nil, message: "cannot read the file (permissions?)")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    public static func parse(_ text: String, file: String) throws -> Topology {
        let root = try YAMLParser.parse(text, file: file)
        if case .null = root {
            throw YAMLError(file: file, mark: nil, message: "the file is empty; expected a mapping with 'servers' (and 'clients')")
        }
        var topology = try YAMLDecoder().decode(Topology.self, from: root, file: file)
        topology.file = file
        let problems = validate(topology, root: root)
        if !problems.isEmpty { throw YAMLErrors(errors: problems) }
        return topology
    }

    /// Semantic checks; every problem found is returned, each with its place in the file.
    public static func validate(_ t: Topology, root: YAMLNode? = nil) -> [YAMLError] {
        var errors: [YAMLError] = []
        func mark(_ path: [Any]) -> Mark? { root.flatMap { lookup($0, path) } }
        func fail(_ path: [Any], _ message: String) { errors.append(YAMLError(file: t.file, mark: mark(path), message: message)) }

        if t.servers.isEmpty { fail([], "no servers: a topology needs at least one server under 'servers'") }

        // Argument templates of other implementations.
        let S = ArgumentTemplate.serverPlaceholders, C = ArgumentTemplate.clientPlaceholders
        if let p = ArgumentTemplate.problem(in: t.serverArgs ?? [], known: S) { fail(["server_args"], "server_args: \(p)") }
        if let p = ArgumentTemplate.problem(in: t.clientArgs ?? [], known: C) { fail(["client_args"], "client_args: \(p)") }
        for (i, s) in t.servers.enumerated() {
            if let p = ArgumentTemplate.problem(in: s.args ?? [], known: S) { fail(["servers", i, "args"], "servers[\(i)] '\(s.name)' args: \(p)") }
            if s.args != nil, s.command == nil { fail(["servers", i, "args"], "servers[\(i)] '\(s.name)': args without command (args are for another implementation's command)") }
        }
        for (i, c) in t.clients.enumerated() {
            if let p = ArgumentTemplate.problem(in: c.args ?? [], known: C) { fail(["clients", i, "args"], "clients[\(i)] '\(c.name)' args: \(p)") }
            if c.args != nil, c.command == nil { fail(["clients", i, "args"], "clients[\(i)] '\(c.name)': args without command (args are for another implementation's command)") }
        }

        // Names and ids.
        var nameAt: [String: String] = [:]
        var holderOfID: [UInt32: String] = [:]
        let all: [(kind: String, index: Int, id: UInt32, name: String, refused: Bool)] =
            t.servers.enumerated().map { ("servers", $0.offset, $0.element.id, $0.element.name, $0.element.refused ?? false) }
            + t.clients.enumerated().map { ("clients", $0.offset, $0.element.id, $0.element.name, $0.element.refused ?? false) }
        for node in all {
            let here = "\(node.kind)[\(node.index)]"
            if node.id == 0 { fail([node.kind, node.index, "id"], "\(here) '\(node.name)': id 0 is reserved for \"no one\"") }
            if node.name.isEmpty { fail([node.kind, node.index, "name"], "\(here): the name is empty") }
            if node.name.utf8.count > 255 { fail([node.kind, node.index, "name"], "\(here): the name is longer than 255 bytes") }
            if let other = nameAt[node.name] {
                fail([node.kind, node.index, "name"], "duplicate name '\(node.name)' (also \(other)); names identify nodes and must be unique")
            } else {
                nameAt[node.name] = here
            }
            if let holder = holderOfID[node.id] {
                if !node.refused {
                    fail([node.kind, node.index, "id"], "duplicate id \(node.id): '\(node.name)' and '\(holder)' (add 'refused: true' to the later one if the duplicate is intended)")
                }
            } else {
                if node.refused {
                    fail([node.kind, node.index, "refused"], "'\(node.name)' is marked refused, but no node listed before it holds id \(node.id)")
                }
                holderOfID[node.id] = node.name
            }
        }

        // Server links.
        let serverNames = Set(t.servers.map(\.name))
        for (i, s) in t.servers.enumerated() {
            if let up = s.upstream {
                if up == s.name {
                    fail(["servers", i, "upstream"], "server '\(s.name)' names itself as its upstream")
                } else if !serverNames.contains(up) {
                    let guess = closest(up, in: Array(serverNames)).map { "; did you mean '\($0)'?" } ?? ""
                    fail(["servers", i, "upstream"], "server '\(s.name)': upstream '\(up)' is not a server in this file\(guess)")
                }
            }
            if let p = s.port, !(1...65_535).contains(p) {
                fail(["servers", i, "port"], "server '\(s.name)': port \(p) is not 1-65535 (leave it out for any free port)")
            }
            if let c = s.command, c.isEmpty { fail(["servers", i, "command"], "server '\(s.name)': command is empty") }
        }
        // Loops: follow upstreams, colouring servers as the walk goes (0 unvisited, 1 on the current
        // walk, 2 done). A walk that meets its own colour has found a cycle. Linear in the servers.
        var colour = [UInt8](repeating: 0, count: t.servers.count)
        for start in t.servers.indices where colour[start] == 0 {
            var walk: [Int] = []
            var cur: Int? = start
            while let i = cur, colour[i] == 0 {
                colour[i] = 1
                walk.append(i)
                cur = t.servers[i].upstream.flatMap { t.serverPosition(named: $0) }
            }
            if let i = cur, colour[i] == 1, let loopStart = walk.firstIndex(of: i) {
                let cycle = walk[loopStart...].map { t.servers[$0].name } + [t.servers[i].name]
                fail(["servers", i, "upstream"], "loop in server links: \(cycle.joined(separator: " → ")); the servers must form a tree")
            }
            for i in walk { colour[i] = 2 }
        }
        // Pinned ports.
        var portOwner: [String: String] = [:]   // "host:port" → server
        for (i, s) in t.servers.enumerated() {
            guard let p = s.port else { continue }
            let place = "\(s.host ?? "127.0.0.1"):\(p)"
            if let other = portOwner[place] {
                fail(["servers", i, "port"], "port \(p) is pinned by both '\(other)' and '\(s.name)'")
            } else {
                portOwner[place] = s.name
            }
        }
        // Clients.
        for (i, c) in t.clients.enumerated() where !serverNames.contains(c.server) {
            let guess = closest(c.server, in: Array(serverNames)).map { "; did you mean '\($0)'?" } ?? ""
            fail(["clients", i, "server"], "client '\(c.name)': server '\(c.server)' is not a server in this file\(guess)")
        }
        // Steps.
        let clientNames = Set(t.clients.map(\.name))
        let nodeNames = serverNames.union(clientNames)
        for (i, step) in t.steps.enumerated() {
            switch step.action {
            case .start(let n), .stop(let n), .kill(let n), .restart(let n):
                if !nodeNames.contains(n) { fail(["steps", i], "step \(i + 1): no node named '\(n)'") }
            case .cut(let n), .heal(let n), .delay(let n, _):
                if let s = t.server(named: n) {
                    if s.upstream == nil { fail(["steps", i], "step \(i + 1): '\(n)' is a root server; name the server below the link to act on") }
                } else {
                    fail(["steps", i], "step \(i + 1): links are named by the server below them; '\(n)' is not a server")
                }
            case .chat(let from, let to, _):
                if !clientNames.contains(from) { fail(["steps", i], "step \(i + 1): chats are sent by clients; '\(from)' is not a client") }
                if UInt32(to) == nil && !clientNames.contains(to) {
                    fail(["steps", i], "step \(i + 1): chat destination '\(to)' is neither a client name nor a numeric id")
                }
            case .quit(let c, _):
                if !clientNames.contains(c) { fail(["steps", i], "step \(i + 1): only clients quit; '\(c)' is not a client") }
            case .settle:
                break
            }
        }
        // These mappings can be as large as the network: find each key's place through one index.
        func keyMarks(_ section: String) -> [String: Mark] {
            guard case .mapping(let top, _)? = root, let sec = top.first(where: { $0.key == section }),
                  case .mapping(let pairs, _) = sec.value else { return [:] }
            return Dictionary(pairs.map { ($0.key, $0.keyMark) }, uniquingKeysWith: { a, _ in a })
        }
        let expectMarks = keyMarks("expect")
        for name in t.expect.keys.sorted() where !nodeNames.contains(name) {
            errors.append(YAMLError(file: t.file, mark: expectMarks[name], message: "expectations for '\(name)', which is not a node in this file"))
        }
        let firstMarks = keyMarks("first_messages")
        for name in t.firstMessages.keys.sorted() where !serverNames.contains(name) {
            errors.append(YAMLError(file: t.file, mark: firstMarks[name], message: "first_messages for '\(name)', which is not a server in this file"))
        }
        for (name, messages) in t.firstMessages.sorted(by: { $0.key < $1.key }) {
            for (i, hex) in messages.enumerated() where hex.utf8.count % 2 != 0 || !hex.allSatisfy(\.isHexDigit) {
                errors.append(YAMLError(file: t.file, mark: firstMarks[name],
                                        message: "first_messages of '\(name)', item \(i + 1): '\(hex.prefix(40))' is not hex bytes (two hex digits a byte, e.g. 0001)"))
            }
        }
        return errors.sorted { ($0.mark?.line ?? 0, $0.mark?.column ?? 0) < ($1.mark?.line ?? 0, $1.mark?.column ?? 0) }
    }

    /// The position of a path like ["servers", 2, "upstream"] in the document.
    static func lookup(_ node: YAMLNode, _ path: [Any]) -> Mark? {
        var cur = node
        var lastKeyMark: Mark? = node.mark
        for part in path {
            switch (cur, part) {
            case (.mapping(let pairs, _), let key as String):
                guard let p = pairs.first(where: { $0.key == key }) else { return lastKeyMark }
                lastKeyMark = p.keyMark
                cur = p.value
            case (.sequence(let items, _), let i as Int):
                guard i < items.count else { return lastKeyMark }
                cur = items[i]
                lastKeyMark = cur.mark
            default:
                return lastKeyMark
            }
        }
        if case .scalar = cur { return cur.mark }
        return lastKeyMark
    }
}
