import Foundation

/// One thing the scheduler may do next: pass on the oldest message held on one connection (a
/// FIFO: TCP's order on a connection is never changed), start a node the launcher asks to, or
/// let a chat or quit step go to its client.
public struct Choice: Hashable, Sendable {
    public enum Kind: String, Codable, Sendable { case deliver, start, command }
    public var kind: Kind
    /// The connection's queue (`s2#1↑`: link of s2, first connection, upward), the node started,
    /// or the step (`step 2`).
    public var key: String
    /// The node it acts on: the receiver of the message, the node started, the client the step
    /// goes to. Two deliveries to different nodes commute (partial-order reduction); a start or a
    /// step commutes with nothing.
    public var node: String
    /// Order of arrival of the message at the relay (the default order delivers oldest first);
    /// starts and steps come after every message.
    public var age: Int
    /// "server registration of 2 (last hop 0)": what it is, for people.
    public var what: String
    /// The same thing in every run of the scenario: `s2#1↑ 3` (the third message on that queue),
    /// `start s2`, `step 2`. Reorderings are constraints between events (`Constraint`).
    public var event: String

    public init(kind: Kind, key: String, node: String, age: Int, what: String, ordinal: Int = 0) {
        self.kind = kind
        self.key = key
        self.node = node
        self.age = age
        self.what = what
        switch kind {
        case .start: event = "start \(key)"
        case .command: event = key
        case .deliver: event = "\(key) \(ordinal)"
        }
    }

    public var id: String { "\(kind.rawValue) \(key)" }

    func commutes(with other: Choice) -> Bool {
        kind == .deliver && other.kind == .deliver && node != other.node
    }
}

/// The default order: the oldest held message first, and a node started or a step sent only when
/// nothing can be delivered: the order a patient launcher and an unloaded machine produce.
func defaultIndex(_ enabled: [Choice]) -> Int {
    enabled.indices.min { enabled[$0].age < enabled[$1].age } ?? 0
}

/// One decision the scheduler took.
public struct Decision: Codable, Equatable, Sendable {
    public var kind: Choice.Kind
    public var key: String
    public var what: String
    /// Not what the default order would have done here.
    public var reordered: Bool
    /// How many choices there were.
    public var choices: Int
    public var event: String
    /// Reordered: the older events it went before (the default order would have taken the
    /// oldest), and what they are.
    public var passed: [String]?
    public var passedWhat: [String]?

    public init(kind: Choice.Kind, key: String, what: String, reordered: Bool, choices: Int, event: String,
                passed: [String]? = nil, passedWhat: [String]? = nil) {
        (self.kind, self.key, self.what, self.reordered, self.choices, self.event) = (kind, key, what, reordered, choices, event)
        (self.passed, self.passedWhat) = (passed, passedWhat)
    }

    public var id: String { "\(kind.rawValue) \(key)" }

    /// The reordering as a constraint: its older rivals wait for it.
    public var constraint: Constraint? {
        reordered ? Constraint(first: event, what: what, then: passed ?? [], thenWhat: passedWhat ?? []) : nil
    }
}

/// One reordering: `then` (older events) wait until `first` has happened.
public struct Constraint: Codable, Equatable, Sendable {
    public var first: String
    public var what: String
    public var then: [String]
    public var thenWhat: [String]

    public init(first: String, what: String, then: [String], thenWhat: [String]) {
        (self.first, self.what, self.then, self.thenWhat) = (first, what, then, thenWhat)
    }

    /// "start s3 before: server registration of 2 (last hop 0) up the link of s2"
    public var description: String {
        "\(what), before " + (thenWhat.count <= 2 ? thenWhat.joined(separator: " and ") : "\(thenWhat[0]) and \(thenWhat.count - 1) more")
    }
}

/// A run's schedule as written to `schedule.json`: enough to replay it (`test --replay`).
public struct Schedule: Codable, Sendable {
    public var scenario: String
    public var strategy: String
    public var seed: UInt64
    /// The command every server ran (another implementation's), or nil for the scenario's own
    /// programs: a replay runs the same.
    public var command: [String]?
    /// That command is crc-cluster's class host (a course class, `--course-python`).
    public var classHosted: Bool?
    /// The quiet window the exploration decided with (ms); a replay decides with the same.
    public var quietMilliseconds: Double?
    public var decisions: [Decision]
    /// The reorderings that make the schedule (shrunk: the fewest that still fail); a replay
    /// takes the default order under these constraints.
    public var constraints: [Constraint]
    /// Why the run failed, when it did.
    public var failure: String?

    public init(scenario: String, strategy: String, seed: UInt64, command: [String]?, decisions: [Decision], failure: String? = nil) {
        self.scenario = scenario
        self.strategy = strategy
        self.seed = seed
        self.command = command
        self.decisions = decisions
        self.constraints = decisions.compactMap(\.constraint)
        self.failure = failure
    }

    public var reorderings: Int { constraints.count }

    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }

    public static func load(_ path: String) throws -> Schedule {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ExploreError("cannot read the schedule \(path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(Schedule.self, from: data) } catch {
            throw ExploreError("\(path) is not a schedule written by crc-cluster explore: \(error)")
        }
    }

    /// A digest of the decisions taken: schedules with the same digest are the same schedule.
    public static func digest(_ decisions: [Decision]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for d in decisions {
            for b in d.id.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0xff) &* 0x100_0000_01b3
        }
        return h
    }
}

public struct ExploreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Strategies

/// Picks the next choice. Pure: given the same choices in the same order, the same pick.
public protocol Strategy {
    mutating func choose(_ enabled: [Choice], step: Int) -> Int
}

/// The default order.
public struct DefaultOrder: Strategy {
    public init() {}
    public func choose(_ enabled: [Choice], step: Int) -> Int { defaultIndex(enabled) }
}

/// SplitMix64: small, seedable, the same numbers on every machine.
public struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// The seed of run `k` of an exploration seeded `seed`: runs of different seeds share none
    /// (seed + k would make seed 2's runs seed 1's, one later).
    public static func seed(_ seed: UInt64, run k: Int) -> UInt64 {
        var g = SeededRandom(seed: seed)
        let base = g.next()
        var h = SeededRandom(seed: base ^ UInt64(k))
        return h.next()
    }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// A random walk: every enabled choice equally likely at every step.
public struct RandomWalk: Strategy {
    var rng: SeededRandom
    public init(seed: UInt64) { rng = SeededRandom(seed: seed) }
    public mutating func choose(_ enabled: [Choice], step: Int) -> Int { Int.random(in: 0..<enabled.count, using: &rng) }
}

/// PCT (Burckhardt et al., ASPLOS 2010), with connections for threads: each queue (and each
/// start) gets a random priority when first seen, the highest enabled one goes next, and at
/// `depth - 1` random steps the one chosen drops below all others. A bug that needs `depth`
/// orderings in a run of `length` steps is found with probability at least 1/(n·length^(depth-1)).
public struct PCT: Strategy {
    var rng: SeededRandom
    var priorities: [String: Double] = [:]
    let changePoints: Set<Int>
    var lowered = 0.0

    public init(seed: UInt64, depth: Int, length: Int) {
        rng = SeededRandom(seed: seed)
        var points = Set<Int>()
        for _ in 0..<max(0, depth - 1) { points.insert(Int.random(in: 0..<max(1, length), using: &rng)) }
        changePoints = points
    }

    public mutating func choose(_ enabled: [Choice], step: Int) -> Int {
        for c in enabled where priorities[c.id] == nil { priorities[c.id] = Double.random(in: 1..<2, using: &rng) }
        let best = enabled.indices.max { priorities[enabled[$0].id]! < priorities[enabled[$1].id]! }!
        if changePoints.contains(step) {
            lowered -= 1
            priorities[enabled[best].id] = lowered
        }
        return best
    }
}

/// The default order under constraints: an event waits while a constraint says it comes after
/// one that has not happened yet; among the rest, the oldest goes. Replays a run exactly (each
/// reordered step's older rivals wait for the one chosen) and survives shrinking: constraints
/// name events, not steps, so removing one does not shift the others.
public struct Constrained: Strategy {
    let constraints: [Constraint]
    var happened = Set<String>()
    public init(_ constraints: [Constraint]) { self.constraints = constraints }

    public mutating func choose(_ enabled: [Choice], step: Int) -> Int {
        let free = enabled.indices.filter { i in
            !constraints.contains { !happened.contains($0.first) && $0.then.contains(enabled[i].event) }
        }
        let pick = free.min { enabled[$0].age < enabled[$1].age } ?? defaultIndex(enabled)
        happened.insert(enabled[pick].event)
        return pick
    }
}

/// Zeller's ddmin: a smallest subset of `items` for which `fails` holds (1-minimal: removing
/// any one item makes it pass), given that it holds for all of them. `fails` returns nil when
/// it may not be asked any more (a budget): the smallest found so far is returned.
public func ddmin<T>(_ items: [T], fails: ([T]) -> Bool?) -> [T] {
    var c = items, n = 2
    while c.count >= 2 {
        let size = (c.count + n - 1) / n
        let chunks = stride(from: 0, to: c.count, by: size).map { Array(c[$0..<min($0 + size, c.count)]) }
        var reduced = false
        for chunk in chunks {
            guard let f = fails(chunk) else { return c }
            if f { c = chunk; n = 2; reduced = true; break }
        }
        if !reduced, chunks.count > 2 {
            for k in chunks.indices {
                let rest = chunks.indices.filter { $0 != k }.flatMap { chunks[$0] }
                guard let f = fails(rest) else { return c }
                if f { c = rest; n = max(n - 1, 2); reduced = true; break }
            }
        }
        if !reduced {
            if n >= c.count { break }
            n = min(c.count, n * 2)
        }
    }
    return c
}

/// One run of the exhaustive search: a forced prefix of choices, then the default order; at each
/// step it notes the choices worth trying there. Partial-order reduction: two adjacent
/// deliveries to different nodes commute, so of their two orders only the one with the smaller
/// key first is explored (the other leads to the same states).
public struct PrefixThenDefault: Strategy {
    public let prefix: [String]
    let reduce: Bool
    var previous: (chosen: Choice, enabled: [Choice])?
    /// Per step: the choices worth exploring there, default first.
    public private(set) var options: [[String]] = []
    public private(set) var chosen: [String] = []

    /// `reduce: false` tries both orders of commuting deliveries too (to measure what the reduction saves).
    public init(prefix: [String], reduce: Bool = true) {
        self.prefix = prefix
        self.reduce = reduce
    }

    public mutating func choose(_ enabled: [Choice], step: Int) -> Int {
        var worth = enabled.indices.filter { !redundant(enabled[$0]) }
        if worth.isEmpty { worth = Array(enabled.indices) }
        worth.sort { enabled[$0].age < enabled[$1].age }
        options.append(worth.map { enabled[$0].id })
        var pick = worth[0]
        if step < prefix.count, let i = enabled.firstIndex(where: { $0.id == prefix[step] }) { pick = i }
        previous = (enabled[pick], enabled)
        chosen.append(enabled[pick].id)
        return pick
    }

    /// `c` commutes with the previous decision, sorts before it, and could have gone first.
    func redundant(_ c: Choice) -> Bool {
        guard reduce, let (p, before) = previous, c.commutes(with: p), c.id < p.id else { return false }
        return before.contains { $0.event == c.event }
    }
}

/// Exhaustive search, fewest reorderings first: every schedule with no reordering (the default
/// order), then every one with one, then two, … (iterative deepening on the reorderings, as
/// CHESS bounds preemptions): a bug that needs one reordering is found within a few dozen runs,
/// and the search still ends having run every schedule there is. Each run is a forced prefix
/// followed by the default order; its steps past the prefix give the next level's prefixes.
public struct FewestReorderingsFirst {
    var levels: [[[String]]] = [[[]]]
    var next = (level: 0, index: 0)
    public init() {}

    /// The next prefix to force, or nil when every schedule (up to reduction) has been run.
    public mutating func nextPrefix() -> (prefix: [String], reorderings: Int)? {
        while next.level < levels.count {
            if next.index < levels[next.level].count {
                defer { next.index += 1 }
                return (levels[next.level][next.index], next.level)
            }
            levels[next.level] = []
            next = (next.level + 1, 0)
        }
        return nil
    }

    /// What a run with `reorderings` in its prefix offered past it: each other choice there is a
    /// schedule of one more.
    public mutating func record(_ run: PrefixThenDefault, reorderings: Int) {
        for i in min(run.prefix.count, run.chosen.count)..<run.chosen.count {
            for alternative in run.options[i] where alternative != run.chosen[i] {
                if levels.count <= reorderings + 1 { levels.append([]) }
                levels[reorderings + 1].append(Array(run.chosen[..<i]) + [alternative])
            }
        }
    }
}
