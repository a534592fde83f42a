/// A map from machine ids to values, built for tables that every server keeps of every machine:
/// a network of N machines holds N² entries, so each entry must be small and each lookup cheap.
///
/// Keys and values live in two dense arrays (iteration is a walk over them, in insertion order
/// but for removals, which move the last entry into the hole); an open-addressing index of
/// `Int32` positions, probed linearly from a multiplicative hash of the id, finds them. Per entry
/// that is the key, the value and about six bytes of index — where `Dictionary` spends a hashed
/// bucket at most three-quarters full, and SipHash on every lookup.
public struct IDMap<Value>: Sequence {
    /// Index slots: 0 empty, otherwise position + 1 in `keys`/`values`. Its count is a power of two.
    private var slots: [Int32] = []
    private var shift: UInt32 = 32
    public private(set) var keys: [UInt32] = []
    public private(set) var values: [Value] = []

    public init() {}

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    @inline(__always)
    private func home(_ id: UInt32) -> Int {
        Int(truncatingIfNeeded: (id &* 0x9E37_79B1) >> shift)
    }

    /// The slot holding `id`, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ id: UInt32) -> (slot: Int, found: Bool) {
        let mask = slots.count - 1
        var i = home(id)
        while true {
            let s = slots[i]
            if s == 0 { return (i, false) }
            if keys[Int(s) - 1] == id { return (i, true) }
            i = (i + 1) & mask
        }
    }

    public func position(of id: UInt32) -> Int? {
        guard !slots.isEmpty else { return nil }
        let p = probe(id)
        return p.found ? Int(slots[p.slot]) - 1 : nil
    }

    public func contains(_ id: UInt32) -> Bool { position(of: id) != nil }

    public subscript(id: UInt32) -> Value? {
        guard let i = position(of: id) else { return nil }
        return values[i]
    }

    /// The value at a position from `position(of:)`, changed in place.
    public mutating func update(at position: Int, _ body: (inout Value) -> Void) {
        body(&values[position])
    }

    /// Adds `id`; returns false (and changes nothing) when it is already there.
    @discardableResult
    public mutating func insert(_ id: UInt32, _ value: Value) -> Bool {
        if (keys.count + 1) * 4 > slots.count * 3 { grow() }
        let p = probe(id)
        if p.found { return false }
        keys.append(id)
        values.append(value)
        slots[p.slot] = Int32(keys.count)
        return true
    }

    @discardableResult
    public mutating func removeValue(forKey id: UInt32) -> Value? {
        guard !slots.isEmpty else { return nil }
        let p = probe(id)
        guard p.found else { return nil }
        let position = Int(slots[p.slot]) - 1
        let removed = values[position]
        let last = keys.count - 1
        if position != last {
            // The last entry fills the hole; its slot follows it.
            let moved = probe(keys[last])
            slots[moved.slot] = Int32(position + 1)
            keys[position] = keys[last]
            values[position] = values[last]
        }
        keys.removeLast()
        values.removeLast()
        // Backward-shift deletion: pull later entries of the probe run into the hole, so lookups
        // never need tombstones.
        let mask = slots.count - 1
        var hole = p.slot
        var j = hole
        while true {
            j = (j + 1) & mask
            let s = slots[j]
            if s == 0 { break }
            let h = home(keys[Int(s) - 1])
            // Entry at j may move to the hole unless its home lies cyclically in (hole, j].
            if (j - h) & mask >= (j - hole) & mask {
                slots[hole] = s
                hole = j
            }
        }
        slots[hole] = 0
        return removed
    }

    public mutating func removeAll() {
        self = IDMap()
    }

    public mutating func reserveCapacity(_ n: Int) {
        var size = Swift.max(8, slots.count)
        while n * 4 > size * 3 { size *= 2 }
        if size > slots.count { rebuild(size) }
        keys.reserveCapacity(n)
        values.reserveCapacity(n)
    }

    private mutating func grow() {
        rebuild(Swift.max(8, slots.count * 2))
    }

    private mutating func rebuild(_ size: Int) {
        slots = [Int32](repeating: 0, count: size)
        shift = UInt32(32 - size.trailingZeroBitCount)
        let mask = size - 1
        for (i, id) in keys.enumerated() {
            var j = home(id)
            while slots[j] != 0 { j = (j + 1) & mask }
            slots[j] = Int32(i + 1)
        }
    }

    public func makeIterator() -> Zip2Sequence<[UInt32], [Value]>.Iterator {
        zip(keys, values).makeIterator()
    }
}

extension IDMap: Sendable where Value: Sendable {}
