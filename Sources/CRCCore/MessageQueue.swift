/// Messages in flight in a `Simulation`, first in first out, each with the link end it is
/// delivered to. Kept as a list of segments so that each piece of a round (see
/// `Simulation.parallelFor`) can fill a segment of its own, and the round's messages are queued
/// by handing over those segments rather than by copying them one by one.
struct MessageQueue: Sendable {
    typealias Item = (to: Int, message: Message)

    private var segments: [[Item]] = [[]]
    /// Where the first segment's next message is.
    private var head = 0
    /// Messages in flight.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ item: Item) {
        segments[segments.count - 1].append(item)
        count += 1
    }

    /// Whole segments, after everything queued so far (their messages were sent later).
    mutating func append(segments more: [[Item]]) {
        for s in more where !s.isEmpty {
            count += s.count
            segments.append(s)
        }
    }

    mutating func popFirst() -> Item? {
        guard count > 0 else { return nil }
        while head == segments[0].count {
            segments.removeFirst()
            head = 0
        }
        let item = segments[0][head]
        head += 1
        count -= 1
        if segments.count == 1, head > 4096, head * 2 > segments[0].count {
            segments[0].removeFirst(head)
            head = 0
        }
        return item
    }

    /// Everything in flight, in order, as segments; the queue is left empty.
    mutating func takeAll() -> [ArraySlice<Item>] {
        var out: [ArraySlice<Item>] = []
        for (i, s) in segments.enumerated() {
            let part = i == 0 ? s[head...] : s[...]
            if !part.isEmpty { out.append(part) }
        }
        segments = [[]]
        head = 0
        count = 0
        return out
    }
}

import CRCProtocol
