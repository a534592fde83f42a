import CRCProtocol

/// Every other machine a server knows, by id, since a network of N machines holds N² of them.
///
/// On its own, a table keeps each entry in one 16-byte slot of an `IDMap` (its first link and a
/// reference to its name and info), its kind in a bit beside it. In a simulation that shares a
/// `HostDirectory`, a numbered host's entry is only its first link, in an array by number;
/// everything else stays in the map. Either way the table holds the same entries.
public struct HostTable: Sendable, Sequence, Equatable {
    struct Entry: Sendable, Equatable {
        var details: HostDetails
        var firstLink: UInt32
    }

    private var map = IDMap<Entry>()
    private var shared = DirectoryRef()
    private var directory: HostDirectory? { shared.directory }
    @inline(__always)
    private func withDirectory<T>(_ body: (HostDirectory) -> T?) -> T? { shared.with(body) }
    /// With a directory: the first link of each numbered host (0: not known), as far as the last
    /// number stored so far.
    private var links: [UInt32] = []
    private var linked = 0

    public static var bytesPerSlot: Int { IDMap<Entry>.bytesPerSlot }

    public init() {}

    /// Shares `directory`'s numbers (only while the table is empty).
    mutating func share(_ directory: HostDirectory) {
        precondition(isEmpty, "a table shares a directory from the start")
        shared = DirectoryRef(directory)
    }

    public var count: Int { map.count + linked }
    /// How many entries are kept by a shared directory's numbers (4 bytes each).
    public var countByNumber: Int { linked }
    public var isEmpty: Bool { count == 0 }
    public var keys: [UInt32] { values.map(\.id) }
    public var values: [HostRecord] { Array(self) }

    public static func == (a: HostTable, b: HostTable) -> Bool {
        a.count == b.count && a.allSatisfy { b[$0.id] == $0 }
    }

    /// The number of `id`'s entry when it is stored by number.
    @inline(__always)
    private func linkedNumber(_ id: UInt32) -> Int? {
        guard linked > 0, let n = withDirectory({ $0.number(of: id) }), n < links.count, links[n] != 0 else { return nil }
        return n
    }

    public subscript(id: UInt32) -> HostRecord? {
        if let n = linkedNumber(id) { return record(n) }
        guard let e = map[id], let client = map.flag(of: id) else { return nil }
        return HostRecord(id: id, kind: client ? .client : .server, details: e.details, firstLink: e.firstLink)
    }

    private func record(_ n: Int) -> HostRecord {
        let d = directory!
        return HostRecord(id: d.id(n), kind: d.isClient(n) ? .client : .server, details: d.details(n), firstLink: links[n])
    }

    public func contains(_ id: UInt32) -> Bool { linkedNumber(id) != nil || map.contains(id) }

    public func firstLink(of id: UInt32) -> UInt32? {
        if let n = linkedNumber(id) { return links[n] }
        return map[id]?.firstLink
    }

    public func kind(of id: UInt32) -> HostKind? {
        if let n = linkedNumber(id) { return directory!.isClient(n) ? .client : .server }
        return map.flag(of: id).map { $0 ? .client : .server }
    }

    public var fingerprint: UInt64 {
        var total: UInt64 = 0
        for (id, e) in map { total &+= Fingerprint.mix(Fingerprint.pair(id, e.firstLink)) }
        if linked > 0, let d = directory {
            for n in links.indices where links[n] != 0 { total &+= Fingerprint.mix(Fingerprint.pair(d.id(n), links[n])) }
        }
        return total
    }

    public var firstLinks: [UInt32: UInt32] {
        var out = [UInt32: UInt32](minimumCapacity: count)
        for (id, e) in map { out[id] = e.firstLink }
        if linked > 0, let d = directory {
            for n in links.indices where links[n] != 0 { out[d.id(n)] = links[n] }
        }
        return out
    }

    @discardableResult
    mutating func insert(_ r: HostRecord) -> Bool {
        if let n = withDirectory({ $0.number(of: r.id) }) {
            if n < links.count, links[n] != 0 { return false }
            if r.firstLink != 0, !map.contains(r.id),
               withDirectory({ $0.matches(n, r.details, client: r.kind == .client) }) == true {
                if n >= links.count {
                    // Doubling, up to what is numbered: a table grows a few times, not once per host.
                    let numbered = withDirectory { $0.count } ?? 0
                    let size = Swift.max(n + 1, Swift.min(numbered, Swift.max(64, links.count * 2)))
                    links.append(contentsOf: repeatElement(0, count: size - links.count))
                }
                links[n] = r.firstLink
                linked += 1
                return true
            }
        }
        return map.insert(r.id, Entry(details: r.details, firstLink: r.firstLink), flag: r.kind == .client)
    }

    @discardableResult
    mutating func remove(_ id: UInt32) -> HostRecord? {
        if let n = linkedNumber(id) {
            let r = record(n)
            links[n] = 0
            linked -= 1
            return r
        }
        return map.removeEntry(forKey: id).map {
            HostRecord(id: id, kind: $0.flag ? .client : .server, details: $0.value.details, firstLink: $0.value.firstLink)
        }
    }

    /// The entries stored by number (in number order), then the others (in slot order).
    public struct Iterator: IteratorProtocol {
        let table: HostTable
        var n = 0
        var inner: IDMap<Entry>.FlaggedIterator
        public mutating func next() -> HostRecord? {
            if table.linked > 0 {
                while n < table.links.count {
                    defer { n += 1 }
                    if table.links[n] != 0 { return table.record(n) }
                }
            }
            return inner.next().map {
                HostRecord(id: $0.key, kind: $0.flag ? .client : .server, details: $0.value.details, firstLink: $0.value.firstLink)
            }
        }
    }

    public func makeIterator() -> Iterator { Iterator(table: self, inner: map.makeFlaggedIterator()) }
}
