import CYaml

/// Where something is in a YAML file (1-based).
public struct Mark: Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "\(line):\(column)" }
}

/// A YAML document as libyaml reads it, every node carrying its position.
public indirect enum YAMLNode: Sendable {
    case scalar(String, Mark, plain: Bool)
    case sequence([YAMLNode], Mark)
    case mapping([(key: String, keyMark: Mark, value: YAMLNode)], Mark)
    case null(Mark)

    public var mark: Mark {
        switch self {
        case .scalar(_, let m, _), .sequence(_, let m), .mapping(_, let m), .null(let m): return m
        }
    }

    public var kindName: String {
        switch self {
        case .scalar: return "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .null: return "nothing"
        }
    }
}

public struct YAMLError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var mark: Mark?
    public var message: String
    public init(file: String, mark: Mark?, message: String) {
        self.file = file
        self.mark = mark
        self.message = message
    }
    public var description: String {
        if let mark { return "\(file):\(mark.line):\(mark.column): \(message)" }
        return "\(file): \(message)"
    }
}

/// Parses YAML text with libyaml's event API into a `YAMLNode` tree (one document).
public enum YAMLParser {
    public static func parse(_ text: String, file: String) throws -> YAMLNode {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(file: file, mark: nil, message: "could not initialise libyaml")
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buf -> YAMLNode in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var reader = EventReader(parser: &parser, file: file, input: buf)
            return try reader.document()
        }
    }

    struct EventReader {
        var parser: UnsafeMutablePointer<yaml_parser_t>
        let file: String
        /// The text being parsed (valid while `parse` runs).
        let input: UnsafeBufferPointer<UInt8>
        var anchors: [String: YAMLNode] = [:]
        /// How deep lists and mappings are nested at the current node.
        var depth = 0
        /// No topology needs more than a few levels; a limit keeps hostile input from exhausting the stack.
        static let maxDepth = 64

        init(parser: UnsafeMutablePointer<yaml_parser_t>, file: String, input: UnsafeBufferPointer<UInt8>) {
            self.parser = parser
            self.file = file
            self.input = input
        }

        struct Event {
            var type: yaml_event_type_t
            var mark: Mark
            var scalar: String?
            var plain = false
            var anchor: String?
        }

        mutating func next() throws -> Event {
            var event = yaml_event_t()
            guard yaml_parser_parse(parser, &event) == 1 else {
                let p = parser.pointee
                let problem = p.problem.map { String(cString: $0) } ?? "invalid YAML"
                let context = p.context.map { String(cString: $0) + ": " } ?? ""
                let mark = Mark(line: Int(p.problem_mark.line) + 1, column: Int(p.problem_mark.column) + 1)
                if problem.contains("tab character") || isTab(at: p.problem_mark) {
                    throw YAMLError(file: file, mark: mark, message: "tabs are not allowed for indentation in YAML: indent with spaces")
                }
                throw YAMLError(file: file, mark: mark, message: "invalid YAML: \(context)\(problem)")
            }
            defer { yaml_event_delete(&event) }
            var e = Event(type: event.type,
                          mark: Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1))
            switch event.type {
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                e.scalar = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                e.plain = s.style == YAML_PLAIN_SCALAR_STYLE
                e.anchor = s.anchor.map { String(cString: $0) }
            case YAML_ALIAS_EVENT:
                e.anchor = event.data.alias.anchor.map { String(cString: $0) }
            case YAML_SEQUENCE_START_EVENT:
                e.anchor = event.data.sequence_start.anchor.map { String(cString: $0) }
            case YAML_MAPPING_START_EVENT:
                e.anchor = event.data.mapping_start.anchor.map { String(cString: $0) }
            default:
                break
            }
            return e
        }

        /// libyaml reports a tab used for indentation in several ways; look at the character itself.
        func isTab(at mark: yaml_mark_t) -> Bool {
            mark.index < input.count && input[Int(mark.index)] == 0x09
        }

        mutating func document() throws -> YAMLNode {
            var e = try next()
            if e.type == YAML_STREAM_START_EVENT { e = try next() }
            if e.type == YAML_STREAM_END_EVENT { return .null(e.mark) }
            guard e.type == YAML_DOCUMENT_START_EVENT else {
                throw YAMLError(file: file, mark: e.mark, message: "expected a YAML document")
            }
            let root = try node(try next())
            let end = try next()
            guard end.type == YAML_DOCUMENT_END_EVENT else {
                throw YAMLError(file: file, mark: end.mark, message: "expected the end of the document")
            }
            let after = try next()
            if after.type == YAML_DOCUMENT_START_EVENT {
                throw YAMLError(file: file, mark: after.mark, message: "expected one YAML document, found a second one")
            }
            return root
        }

        mutating func node(_ e: Event) throws -> YAMLNode {
            if e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT {
                guard depth < Self.maxDepth else {
                    throw YAMLError(file: file, mark: e.mark, message: "lists and mappings are nested more than \(Self.maxDepth) levels deep here; a topology needs a few")
                }
                depth += 1
            }
            defer {
                if e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT { depth -= 1 }
            }
            let result: YAMLNode
            switch e.type {
            case YAML_SCALAR_EVENT:
                let s = e.scalar ?? ""
                if e.plain && (s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL") {
                    result = .null(e.mark)
                } else {
                    result = .scalar(s, e.mark, plain: e.plain)
                }
            case YAML_ALIAS_EVENT:
                guard let a = e.anchor, let n = anchors[a] else {
                    throw YAMLError(file: file, mark: e.mark, message: "unknown alias *\(e.anchor ?? "")")
                }
                return n
            case YAML_SEQUENCE_START_EVENT:
                var items: [YAMLNode] = []
                while true {
                    let n = try next()
                    if n.type == YAML_SEQUENCE_END_EVENT { break }
                    items.append(try node(n))
                }
                result = .sequence(items, e.mark)
            case YAML_MAPPING_START_EVENT:
                var pairs: [(key: String, keyMark: Mark, value: YAMLNode)] = []
                var keys = Set<String>()
                while true {
                    let k = try next()
                    if k.type == YAML_MAPPING_END_EVENT { break }
                    guard k.type == YAML_SCALAR_EVENT, let key = k.scalar else {
                        throw YAMLError(file: file, mark: k.mark, message: "expected a plain key (a name), found a complex key")
                    }
                    if !keys.insert(key).inserted {
                        throw YAMLError(file: file, mark: k.mark, message: "duplicate key '\(key)'")
                    }
                    pairs.append((key, k.mark, try node(try next())))
                }
                result = .mapping(pairs, e.mark)
            default:
                throw YAMLError(file: file, mark: e.mark, message: "unexpected YAML structure")
            }
            if let a = e.anchor { anchors[a] = result }
            return result
        }
    }
}
