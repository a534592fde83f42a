import CRCProtocol

/// Numbers for the machines of a simulated network, shared by every table in it.
///
/// Every server of a network knows the same hosts with the same names and infos; only the first
/// link differs from one server to the next. A table that shares a directory keeps, for each
/// numbered host, just that first link (4 bytes, 0 for "not known"): a network of 10,000 servers
/// and 10,000 clients then holds 2×10⁸ entries in 800 MB, where slots of their own (a reference
/// to the name and info, the link, the id) took 16 bytes at three-quarters load and retained a
/// shared object per entry. A client's table shares it too: one bit a host.
///
/// A host is numbered when the simulation starts it, with the name-and-info object its own
/// registrations carry. A table stores an entry by number only when it is that host as numbered
/// (same kind, same name and info); anything else — two machines claiming one id, a host back
/// with another name — goes into the table's own map, so a shared directory never changes what
/// a table holds, only how.
///
/// @unchecked Sendable: hosts are added only while no table is being written (the simulation
/// numbers a node as it starts it, between deliveries and rounds); during a round it is only
/// read, from every core.
public final class HostDirectory: @unchecked Sendable {
    // Raw storage, not arrays: a table reads the directory on every delivery, from every core,
    // and reading an array held by a class retains its buffer — two cores writing one counter
    // per lookup (a fifth of a 3,000-server run).
    /// id → number + 1, open addressing (key in the high half, 0: empty), a power of two in size.
    private var slots: UnsafeMutablePointer<UInt64>
    private var slotCount: Int
    private var capacity: Int
    private var idStore: UnsafeMutablePointer<UInt32>
    private var detailStore: UnsafeMutablePointer<Unmanaged<HostDetails>>
    private var clientStore: UnsafeMutablePointer<Bool>
    /// Keeps every numbered host's object alive (never read on the way of a delivery).
    private var owners: [HostDetails] = []
    /// How many hosts are numbered.
    public private(set) var count = 0

    public init() {
        capacity = 64
        slotCount = 128
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        idStore = .allocate(capacity: capacity)
        detailStore = .allocate(capacity: capacity)
        clientStore = .allocate(capacity: capacity)
    }

    deinit {
        slots.deallocate()
        idStore.deallocate()
        detailStore.deallocate()
        clientStore.deallocate()
    }

    @inline(__always)
    private static func home(_ id: UInt32, _ size: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(id &* 0x9E37_79B1) &* UInt64(size)) >> 32)
    }

    @inline(__always)
    func number(of id: UInt32) -> Int? {
        let mask = slotCount - 1
        var i = Self.home(id, slotCount)
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if UInt32(truncatingIfNeeded: s >> 32) == id { return Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1 }
            i = (i + 1) & mask
        }
    }

    @inline(__always) func id(_ n: Int) -> UInt32 { idStore[n] }
    @inline(__always) func isClient(_ n: Int) -> Bool { clientStore[n] }
    @inline(__always) func details(_ n: Int) -> HostDetails { detailStore[n].takeUnretainedValue() }

    /// Numbers a host; a second host with an id already numbered keeps the first one's number
    /// (its entries, which differ, go to the tables' own maps).
    func add(id: UInt32, details: HostDetails, client: Bool) {
        guard number(of: id) == nil else { return }
        if count == capacity { grow() }
        idStore[count] = id
        detailStore[count] = Unmanaged.passUnretained(details)
        clientStore[count] = client
        owners.append(details)
        place(id, count)
        count += 1
    }

    private func place(_ id: UInt32, _ n: Int) {
        let mask = slotCount - 1
        var i = Self.home(id, slotCount)
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = UInt64(id) << 32 | UInt64(n + 1)
    }

    private func grow() {
        capacity *= 2
        func moved<T>(_ old: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
            let new = UnsafeMutablePointer<T>.allocate(capacity: capacity)
            new.moveInitialize(from: old, count: count)
            old.deallocate()
            return new
        }
        idStore = moved(idStore)
        detailStore = moved(detailStore)
        clientStore = moved(clientStore)
        slots.deallocate()
        slotCount = capacity * 2
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        for n in 0..<count { place(idStore[n], n) }
    }

    /// Whether host `n` as numbered is this one: same kind, and the same name and info (the very
    /// object, as a rule).
    @inline(__always)
    func matches(_ n: Int, _ details: HostDetails, client: Bool) -> Bool {
        guard clientStore[n] == client else { return false }
        if detailStore[n].toOpaque() == Unmanaged.passUnretained(details).toOpaque() { return true }
        return detailStore[n]._withUnsafeGuaranteedRef { $0 == details }
    }
}

/// A table's hold on a shared directory: a strong reference for as long as the table exists,
/// and reads through an unretained one. Every table of a simulation shares one directory, and
/// retaining it on each lookup had two cores write one counter (22 % of a 10,000-server run).
struct DirectoryRef: @unchecked Sendable {
    private var keeps: HostDirectory?
    private var unretained: Unmanaged<HostDirectory>?

    init() {}

    init(_ directory: HostDirectory) {
        keeps = directory
        unretained = .passUnretained(directory)
    }

    var directory: HostDirectory? { keeps }

    /// `body` on the directory, if any, without retaining it.
    @inline(__always)
    func with<T>(_ body: (HostDirectory) -> T?) -> T? {
        unretained?._withUnsafeGuaranteedRef(body) ?? nil
    }
}
