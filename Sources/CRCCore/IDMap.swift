/// A map from machine ids to values, built for tables that every server keeps of every machine:
/// a network of N machines holds N² entries, so each entry must be small and each lookup cheap.
///
/// One array of slots, open addressing, probed linearly from a multiplicative (Fibonacci) hash of
/// the id; each slot holds its id and value inline, so a lookup or an insert touches one place in
/// memory (in a simulated network every message lands in another server's table, and the cost of
/// a delivery is its cache misses). Removal shifts the rest of the probe run back, so there are no
/// tombstones. Iteration goes in slot order. Per entry that is the id, the value and the quarter to
/// half of a slot left empty — where `Dictionary` also runs SipHash on every lookup.
public struct IDMap<Value>: Sequence {
    /// The value first: a 12-byte value (a reference and a 32-bit id, as a server's entry is) and
    /// the key then fill 16 bytes, where a key first would be padded to the value's alignment.
    struct Slot {
        /// nil when the slot is empty.
        var value: Value?
        var key: UInt32
    }

    /// A power of two in count (or empty).
    private var slots: [Slot] = []
    /// Two bits a slot, in pairs of words (word 2k: whether slots 64k…64k+63 hold an entry; word
    /// 2k+1: their flags). Probes read the first and the keys, never the values (testing `value`
    /// for nil would copy it, and copying a value that holds a reference touches that object's
    /// reference count: a probe would write to the name-and-info object of every host it walks
    /// past). The flag (a host table marks its clients with it) is kept out of the slot so that
    /// the slot stays 16 bytes. A table of 20,000 entries has 8 KiB of bits: they stay in the cache.
    private var bits: [UInt64] = []
    private var shift: UInt32 = 32
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// The bytes of one slot (an entry takes one, and a table is kept at most three-quarters full).
    public static var bytesPerSlot: Int { MemoryLayout<Slot>.stride }

    @inline(__always)
    private func home(_ id: UInt32) -> Int {
        Int(truncatingIfNeeded: (id &* 0x9E37_79B1) >> shift)
    }

    /// Bit `i` of the used words (`word` 0) or of the flag words (`word` 1).
    @inline(__always)
    private static func bit(_ bits: [UInt64], _ i: Int, _ word: Int = 0) -> Bool {
        bits[(i &>> 6) &<< 1 | word] & (1 &<< UInt64(i & 63)) != 0
    }

    @inline(__always)
    private static func setBit(_ bits: inout [UInt64], _ i: Int, _ word: Int = 0, _ on: Bool) {
        let w = (i &>> 6) &<< 1 | word
        if on { bits[w] |= 1 &<< UInt64(i & 63) } else { bits[w] &= ~(1 &<< UInt64(i & 63)) }
    }

    /// The slot holding `id`, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ id: UInt32) -> (slot: Int, found: Bool) {
        let mask = slots.count - 1
        var i = home(id)
        while true {
            if !Self.bit(bits, i) { return (i, false) }
            if slots[i].key == id { return (i, true) }
            i = (i + 1) & mask
        }
    }

    public func contains(_ id: UInt32) -> Bool {
        count > 0 && probe(id).found
    }

    public subscript(id: UInt32) -> Value? {
        guard count > 0 else { return nil }
        let p = probe(id)
        return p.found ? slots[p.slot].value : nil
    }

    /// The flag of `id`'s entry; nil when there is none.
    public func flag(of id: UInt32) -> Bool? {
        guard count > 0 else { return nil }
        let p = probe(id)
        return p.found ? Self.bit(bits, p.slot, 1) : nil
    }

    /// Adds `id`; returns false (and changes nothing) when it is already there.
    @discardableResult
    public mutating func insert(_ id: UInt32, _ value: Value, flag: Bool = false) -> Bool {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let p = probe(id)
        if p.found { return false }
        slots[p.slot] = Slot(value: value, key: id)
        Self.setBit(&bits, p.slot, 0, true)
        Self.setBit(&bits, p.slot, 1, flag)
        count += 1
        return true
    }

    /// Adds `id`, or replaces its value and flag.
    public mutating func set(_ id: UInt32, _ value: Value, flag: Bool = false) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let p = probe(id)
        if !p.found {
            count += 1
            Self.setBit(&bits, p.slot, 0, true)
        }
        slots[p.slot] = Slot(value: value, key: id)
        Self.setBit(&bits, p.slot, 1, flag)
    }

    @discardableResult
    public mutating func removeValue(forKey id: UInt32) -> Value? {
        removeEntry(forKey: id)?.value
    }

    /// Removes `id`'s entry and returns its value and flag.
    @discardableResult
    public mutating func removeEntry(forKey id: UInt32) -> (value: Value, flag: Bool)? {
        guard count > 0 else { return nil }
        let p = probe(id)
        guard p.found, let removed = slots[p.slot].value else { return nil }
        let removedFlag = Self.bit(bits, p.slot, 1)
        // Backward-shift deletion: pull later entries of the probe run into the hole.
        let mask = slots.count - 1
        var hole = p.slot
        var j = hole
        while true {
            j = (j + 1) & mask
            guard Self.bit(bits, j) else { break }
            let h = home(slots[j].key)
            // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
            if (j - h) & mask >= (j - hole) & mask {
                slots[hole] = slots[j]
                Self.setBit(&bits, hole, 1, Self.bit(bits, j, 1))
                hole = j
            }
        }
        slots[hole] = Slot(value: nil, key: 0)
        Self.setBit(&bits, hole, 0, false)
        Self.setBit(&bits, hole, 1, false)
        count -= 1
        return (removed, removedFlag)
    }

    /// The ids, in slot order.
    public var keys: [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(count)
        for i in slots.indices where Self.bit(bits, i) { out.append(slots[i].key) }
        return out
    }

    private mutating func grow() {
        rehash(Swift.max(8, slots.count * 2))
    }

    private mutating func rehash(_ size: Int) {
        var old = [Slot](repeating: Slot(value: nil, key: 0), count: size)
        swap(&old, &slots)
        let oldBits = bits
        var newBits = [UInt64](repeating: 0, count: (size + 63) / 64 * 2)
        shift = UInt32(32 - size.trailingZeroBitCount)
        let mask = size - 1
        // Entries are moved, not copied: no reference count is touched, and the old array is
        // left holding only empty slots.
        let hashShift = shift
        slots.withUnsafeMutableBufferPointer { target in
            old.withUnsafeMutableBufferPointer { source in
                guard let to = target.baseAddress, let from = source.baseAddress else { return }
                for i in source.indices where Self.bit(oldBits, i) {
                    var j = Int(truncatingIfNeeded: ((from + i).pointee.key &* 0x9E37_79B1) >> hashShift)
                    while Self.bit(newBits, j) { j = (j + 1) & mask }
                    (to + j).deinitialize(count: 1)  // an empty slot: nothing to release
                    (to + j).moveInitialize(from: from + i, count: 1)
                    (from + i).initialize(to: Slot(value: nil, key: 0))
                    Self.setBit(&newBits, j, 0, true)
                    if Self.bit(oldBits, i, 1) { Self.setBit(&newBits, j, 1, true) }
                }
            }
        }
        bits = newBits
    }

    public struct Iterator: IteratorProtocol {
        var slots: IndexingIterator<[Slot]>
        public mutating func next() -> (UInt32, Value)? {
            while let s = slots.next() {
                if let v = s.value { return (s.key, v) }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(slots: slots.makeIterator()) }

    /// Every entry with its flag, in slot order.
    public struct FlaggedIterator: IteratorProtocol {
        let slots: [Slot]
        let bits: [UInt64]
        var i = 0
        public mutating func next() -> (key: UInt32, value: Value, flag: Bool)? {
            while i < slots.count {
                defer { i += 1 }
                if IDMap.bit(bits, i), let v = slots[i].value { return (slots[i].key, v, IDMap.bit(bits, i, 1)) }
            }
            return nil
        }
    }

    public func makeFlaggedIterator() -> FlaggedIterator { FlaggedIterator(slots: slots, bits: bits) }
}

extension IDMap: Sendable where Value: Sendable {}
extension IDMap.Slot: Sendable where Value: Sendable {}
