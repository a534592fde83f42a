import CRCCore

/// The open links by id, in an array: the runtime looks a link up for every message it sends, and
/// hashing ids was a tenth of a registration storm's cost. An id carries its slot (low 32 bits,
/// from 1) and the slot's generation (high bits), which changes whenever a slot is reused, so no id
/// is ever given twice and a stale id finds nothing. Event-loop confined, like the runtime.
struct LinkTable {
    private var slots: [ServerRuntime.LinkContext?] = []
    private var generations: [UInt32] = []
    private var free: [Int] = []
    private(set) var count = 0

    /// A fresh id for a link about to be inserted.
    mutating func makeID() -> LinkID {
        if let slot = free.popLast() {
            generations[slot] &+= 1
            return LinkID(UInt64(generations[slot]) << 32 | UInt64(slot + 1))
        }
        slots.append(nil)
        generations.append(0)
        return LinkID(UInt64(slots.count))
    }

    @inline(__always)
    private static func slot(of id: LinkID) -> Int { Int(truncatingIfNeeded: id.rawValue & 0xffff_ffff) - 1 }

    @inline(__always)
    subscript(id: LinkID) -> ServerRuntime.LinkContext? {
        let slot = Self.slot(of: id)
        guard slot >= 0, slot < slots.count, let ctx = slots[slot], ctx.id == id else { return nil }
        return ctx
    }

    mutating func insert(_ ctx: ServerRuntime.LinkContext) {
        slots[Self.slot(of: ctx.id)] = ctx
        count += 1
    }

    @discardableResult
    mutating func removeValue(forKey id: LinkID) -> ServerRuntime.LinkContext? {
        guard let ctx = self[id] else { return nil }
        let slot = Self.slot(of: id)
        slots[slot] = nil
        free.append(slot)
        count -= 1
        return ctx
    }

    var values: [ServerRuntime.LinkContext] { slots.compactMap { $0 } }
    var keys: [LinkID] { values.map(\.id) }
}
