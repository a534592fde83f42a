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
    private var numbers = IDMap<UInt32>()
    private(set) var ids: [UInt32] = []
    private(set) var details: [HostDetails] = []
    private(set) var isClient: [Bool] = []

    public init() {}

    /// How many hosts are numbered.
    public var count: Int { ids.count }

    @inline(__always)
    func number(of id: UInt32) -> Int? {
        numbers[id].map { Int(truncatingIfNeeded: $0) }
    }

    /// Numbers a host; a second host with an id already numbered keeps the first one's number
    /// (its entries, which differ, go to the tables' own maps).
    func add(id: UInt32, details: HostDetails, client: Bool) {
        guard !numbers.contains(id) else { return }
        numbers.insert(id, UInt32(ids.count))
        ids.append(id)
        self.details.append(details)
        isClient.append(client)
    }

    /// Whether host `n` as numbered is this one: same kind, and the same name and info (the very
    /// object, as a rule).
    @inline(__always)
    func matches(_ n: Int, _ details: HostDetails, client: Bool) -> Bool {
        isClient[n] == client && (self.details[n] === details || self.details[n] == details)
    }
}
