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
    struct Slot {
        var key: UInt32
        /// Whether the slot holds an entry. (Testing `value` for nil instead would copy it, and
        /// copying a value that holds a reference touches that object's reference count: a probe
        /// would write to the name-and-info object of every host it walks past.)
        var used: Bool
        /// nil when the slot is empty.
        var value: Value?
    }

    /// A power of two in count (or empty).
    private var slots: [Slot] = []
    private var shift: UInt32 = 32
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

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
            if !slots[i].used { return (i, false) }
            if slots[i].key == id { return (i, true) }
            i = (i + 1) & mask
        }
    }

    public func contains(_ id: UInt32) -> Bool { self[id] != nil }

    public subscript(id: UInt32) -> Value? {
        guard count > 0 else { return nil }
        let p = probe(id)
        return p.found ? slots[p.slot].value : nil
    }

    /// Adds `id`; returns false (and changes nothing) when it is already there.
    @discardableResult
    public mutating func insert(_ id: UInt32, _ value: Value) -> Bool {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let p = probe(id)
        if p.found { return false }
        slots[p.slot] = Slot(key: id, used: true, value: value)
        count += 1
        return true
    }

    /// Adds `id`, or replaces its value.
    public mutating func set(_ id: UInt32, _ value: Value) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let p = probe(id)
        if !p.found { count += 1 }
        slots[p.slot] = Slot(key: id, used: true, value: value)
    }

    @discardableResult
    public mutating func removeValue(forKey id: UInt32) -> Value? {
        guard count > 0 else { return nil }
        let p = probe(id)
        guard p.found else { return nil }
        let removed = slots[p.slot].value
        // Backward-shift deletion: pull later entries of the probe run into the hole.
        let mask = slots.count - 1
        var hole = p.slot
        var j = hole
        while true {
            j = (j + 1) & mask
            guard slots[j].used else { break }
            let h = home(slots[j].key)
            // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
            if (j - h) & mask >= (j - hole) & mask {
                slots[hole] = slots[j]
                hole = j
            }
        }
        slots[hole] = Slot(key: 0, used: false, value: nil)
        count -= 1
        return removed
    }

    /// The ids, in slot order.
    public var keys: [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(count)
        for s in slots where s.used { out.append(s.key) }
        return out
    }

    private mutating func grow() {
        rehash(Swift.max(8, slots.count * 2))
    }

    private mutating func rehash(_ size: Int) {
        var old = [Slot](repeating: Slot(key: 0, used: false, value: nil), count: size)
        swap(&old, &slots)
        shift = UInt32(32 - size.trailingZeroBitCount)
        let mask = size - 1
        // Entries are moved, not copied: no reference count is touched, and the old array is
        // left holding only empty slots.
        let bits = shift
        slots.withUnsafeMutableBufferPointer { target in
            old.withUnsafeMutableBufferPointer { source in
                guard let to = target.baseAddress, let from = source.baseAddress else { return }
                for i in source.indices where source[i].used {
                    var j = Int(truncatingIfNeeded: (source[i].key &* 0x9E37_79B1) >> bits)
                    while target[j].used { j = (j + 1) & mask }
                    (to + j).deinitialize(count: 1)  // an empty slot: nothing to release
                    (to + j).moveInitialize(from: from + i, count: 1)
                    (from + i).initialize(to: Slot(key: 0, used: false, value: nil))
                }
            }
        }
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
}

extension IDMap: Sendable where Value: Sendable {}
extension IDMap.Slot: Sendable where Value: Sendable {}
