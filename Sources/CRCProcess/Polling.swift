import Foundation

/// The pause between two looks at something that is expected to change soon: 1 ms at first, then
/// twice as long each time, up to `max`. Every wait for an event in crc-cluster is a loop of looks
/// with a deadline and one of these, never a fixed sleep.
public struct Backoff: Sendable {
    public private(set) var pause: TimeInterval
    public let max: TimeInterval

    public init(first: TimeInterval = 0.001, max: TimeInterval = 0.02) {
        pause = first
        self.max = max
    }

    /// Sleeps for the current pause, then doubles it (up to `max`, or to `upTo` when given).
    public mutating func wait(upTo cap: TimeInterval? = nil) {
        usleep(useconds_t(pause * 1_000_000))
        pause = Swift.min(pause * 2, cap ?? max)
    }
}

/// Looks at `condition` until it holds (true) or `deadline` passes (false, after one last look),
/// backing off between looks; `while alive` returning false ends the wait early.
public func poll(until deadline: Date, max pause: TimeInterval = 0.02, while alive: () -> Bool = { true },
                 _ condition: () -> Bool) -> Bool {
    var backoff = Backoff(max: pause)
    repeat {
        if condition() { return true }
        if !alive() { return false }
        backoff.wait()
    } while Date() < deadline
    return condition()
}
