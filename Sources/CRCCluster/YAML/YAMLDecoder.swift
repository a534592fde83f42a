/// Models that list their YAML keys, so unknown keys are reported (with a did-you-mean).
public protocol YAMLKeyed {
    static var yamlKeys: [String] { get }
}

/// Decodes `Decodable` models from a `YAMLNode`. Errors name file:line:column. Unknown keys are all
/// collected, and so are type errors in the items of lists decoded with `decodeEach` (the servers,
/// clients and steps of a topology), so one run reports every mistake it can.
public struct YAMLDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from node: YAMLNode, file: String) throws -> T {
        let context = YAMLDecodingContext(file: file)
        let value: T
        do {
            value = try context.decode(T.self, node: node, path: [])
        } catch let error as YAMLError {
            throw YAMLErrors(errors: Self.inOrder(context.errors + [error]))
        }
        if !context.errors.isEmpty { throw YAMLErrors(errors: Self.inOrder(context.errors)) }
        return value
    }

    static func inOrder(_ errors: [YAMLError]) -> [YAMLError] {
        errors.sorted { ($0.mark?.line ?? 0, $0.mark?.column ?? 0) < ($1.mark?.line ?? 0, $1.mark?.column ?? 0) }
    }
}

extension KeyedDecodingContainer {
    /// Decodes the list under `key` item by item. Decoding YAML, an item with a type error is
    /// reported and skipped, so that one run reports every bad item (the decode still fails at
    /// the end); elsewhere the first error is thrown as usual.
    func decodeEach<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> [T]? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return nil }
        var list = try nestedUnkeyedContainer(forKey: key)
        let context = (list as? Unkeyed)?.context
        var out: [T] = []
        while !list.isAtEnd {
            do {
                out.append(try list.decode(T.self))
            } catch let error as YAMLError where context != nil {
                context!.errors.append(error)
            } catch let errors as YAMLErrors where context != nil {
                context!.errors += errors.errors
            }
        }
        return out
    }
}

/// Several errors at once.
public struct YAMLErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [YAMLError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

final class YAMLDecodingContext {
    let file: String
    var errors: [YAMLError] = []
    init(file: String) { self.file = file }

    func decode<T: Decodable>(_ type: T.Type, node: YAMLNode, path: [CodingKey]) throws -> T {
        if let keyed = T.self as? YAMLKeyed.Type, case .mapping(let pairs, _) = node {
            for pair in pairs where !keyed.yamlKeys.contains(pair.key) {
                var message = "unknown key '\(pair.key)'\(where: path)"
                if let guess = closest(pair.key, in: keyed.yamlKeys) { message += "; did you mean '\(guess)'?" }
                message += " (known keys: \(keyed.yamlKeys.joined(separator: ", ")))"
                errors.append(YAMLError(file: file, mark: pair.keyMark, message: message))
            }
        }
        do {
            return try T(from: NodeDecoder(node: node, codingPath: path, context: self))
        } catch DecodingError.dataCorrupted(let c) {
            throw YAMLError(file: file, mark: node.mark, message: "\(c.debugDescription)\(where: path)")
        }
    }

    func error(_ node: YAMLNode, _ path: [CodingKey], expected: String) -> YAMLError {
        let found: String
        if case .scalar(let s, _, _) = node { found = "'\(s)'" } else { found = node.kindName }
        return YAMLError(file: file, mark: node.mark, message: "expected \(expected)\(where: path), found \(found)")
    }
}

extension String.StringInterpolation {
    mutating func appendInterpolation(where path: [CodingKey]) {
        let p = pathString(path)
        if !p.isEmpty { appendLiteral(" for '\(p)'") }
    }
}

func pathString(_ path: [CodingKey]) -> String {
    var out = ""
    for key in path {
        if let i = key.intValue { out += "[\(i)]" } else { out += out.isEmpty ? key.stringValue : ".\(key.stringValue)" }
    }
    return out
}

/// The closest known word by edit distance, if it is close enough to be a likely typo.
public func closest(_ word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
    let w = Array(word.lowercased())
    let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let (best, d) = scored, d <= max(2, w.count / 3) else { return nil }
    return best
}

struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

struct NodeDecoder: Decoder {
    let node: YAMLNode
    let codingPath: [CodingKey]
    let context: YAMLDecodingContext
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let pairs, _) = node else {
            throw context.error(node, codingPath, expected: "a mapping (key: value lines)")
        }
        return KeyedDecodingContainer(Keyed<Key>(pairs: pairs, node: node, codingPath: codingPath, context: context))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .sequence(let items, _) = node else {
            throw context.error(node, codingPath, expected: "a list")
        }
        return Unkeyed(items: items, codingPath: codingPath, context: context)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        Single(node: node, codingPath: codingPath, context: context)
    }
}

struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let pairs: [(key: String, keyMark: Mark, value: YAMLNode)]
    let node: YAMLNode
    let codingPath: [CodingKey]
    let context: YAMLDecodingContext
    /// Position of each key in `pairs`: a mapping decoded as a dictionary looks up every key.
    let index: [String: Int]

    init(pairs: [(key: String, keyMark: Mark, value: YAMLNode)], node: YAMLNode, codingPath: [CodingKey], context: YAMLDecodingContext) {
        self.pairs = pairs
        self.node = node
        self.codingPath = codingPath
        self.context = context
        self.index = Dictionary(pairs.enumerated().map { ($0.element.key, $0.offset) }, uniquingKeysWith: { a, _ in a })
    }

    var allKeys: [Key] { pairs.compactMap { Key(stringValue: $0.key) } }
    func contains(_ key: Key) -> Bool { index[key.stringValue] != nil }

    func value(_ key: Key) throws -> YAMLNode {
        guard let v = index[key.stringValue].map({ pairs[$0].value }) else {
            throw YAMLError(file: context.file, mark: node.mark,
                            message: "missing key '\(key.stringValue)'\(where: codingPath)")
        }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try value(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try context.decode(T.self, node: try value(key), path: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(node: try value(key), codingPath: codingPath + [key], context: context).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try NodeDecoder(node: try value(key), codingPath: codingPath + [key], context: context).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { NodeDecoder(node: node, codingPath: codingPath, context: context) }
    func superDecoder(forKey key: Key) throws -> Decoder {
        NodeDecoder(node: try value(key), codingPath: codingPath + [key], context: context)
    }
}

struct Unkeyed: UnkeyedDecodingContainer {
    let items: [YAMLNode]
    let codingPath: [CodingKey]
    let context: YAMLDecodingContext
    var currentIndex = 0

    init(items: [YAMLNode], codingPath: [CodingKey], context: YAMLDecodingContext) {
        self.items = items
        self.codingPath = codingPath
        self.context = context
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func decodeNil() throws -> Bool {
        if case .null = items[currentIndex] { currentIndex += 1; return true }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let node = items[currentIndex]
        let at = currentIndex
        currentIndex += 1  // a failed item is passed over too, so the items after it can be checked
        return try context.decode(T.self, node: node, path: codingPath + [IndexKey(intValue: at)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        defer { currentIndex += 1 }
        return try NodeDecoder(node: items[currentIndex], codingPath: codingPath + [IndexKey(intValue: currentIndex)], context: context)
            .container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        defer { currentIndex += 1 }
        return try NodeDecoder(node: items[currentIndex], codingPath: codingPath + [IndexKey(intValue: currentIndex)], context: context)
            .unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        defer { currentIndex += 1 }
        return NodeDecoder(node: items[currentIndex], codingPath: codingPath, context: context)
    }
}

struct Single: SingleValueDecodingContainer {
    let node: YAMLNode
    let codingPath: [CodingKey]
    let context: YAMLDecodingContext

    func decodeNil() -> Bool {
        if case .null = node { return true }
        return false
    }

    func scalar(_ expected: String) throws -> String {
        guard case .scalar(let s, _, _) = node else { throw context.error(node, codingPath, expected: expected) }
        return s
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        switch try scalar("true or false") {
        case "true", "yes", "on", "True", "TRUE": return true
        case "false", "no", "off", "False", "FALSE": return false
        default: throw context.error(node, codingPath, expected: "true or false")
        }
    }

    func decode(_ type: String.Type) throws -> String { try scalar("a string") }
    func decode(_ type: Double.Type) throws -> Double {
        guard let v = Double(try scalar("a number")) else { throw context.error(node, codingPath, expected: "a number") }
        return v
    }
    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let name = "an integer from \(T.min) to \(T.max)"
        guard let v = T(try scalar(name).replacingUnderscores()) else { throw context.error(node, codingPath, expected: name) }
        return v
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(UInt64.self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try context.decode(T.self, node: node, path: codingPath)
    }
}

extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
