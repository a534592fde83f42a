import CRCProcess
import Foundation
import NIOConcurrencyHelpers

/// Running many scenarios: `jobs` at a time, each on a thread of its own, results as they come,
/// and Ctrl-C (SIGINT, SIGTERM, SIGHUP) stopping the running ones and skipping the rest. What
/// `test`, `grade` and `check` share; the commands only parse arguments and print.
public enum ScenarioSuite {
    /// `configure` adjusts each scenario's options; `onInterrupt` hears the count of each
    /// interrupt (1: stopping; 2: force); `onResult` each result, from the scenario's thread.
    public static func run(_ topologies: [Topology], options: RunOptions, jobs: Int,
                           configure: (inout RunOptions, Topology) -> Void = { _, _ in },
                           onInterrupt: @escaping @Sendable (Int) -> Void = { _ in },
                           onResult: @escaping @Sendable (ScenarioResult) -> Void) -> (results: ResultsBox, interrupted: Bool) {
        var options = options
        let results = ResultsBox(count: topologies.count)
        let interrupted = SignalCounter()
        options.interrupted = { interrupted.count > 0 }
        let sources = installSignalHandlers(onInterrupt, counter: interrupted)
        ChildReaper.becomeSubreaper()
        defer { sources.forEach { $0.cancel() } }
        let slots = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        for (i, t) in topologies.enumerated() {
            slots.wait()
            if interrupted.count > 0 {
                slots.signal()
                break
            }
            group.enter()
            var scenarioOptions = options
            configure(&scenarioOptions, t)
            let opts = scenarioOptions
            let thread = Thread {
                let r = ScenarioRunner.run(t, options: opts)
                results.set(i, r)
                onResult(r)
                slots.signal()
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        return (results, interrupted.count > 0)
    }
}

/// Scenario results as they come in, from the threads that run them.
public final class ResultsBox: Sendable {
    private let results: NIOLockedValueBox<[ScenarioResult?]>
    public init(count: Int) { results = NIOLockedValueBox(Array(repeating: nil, count: count)) }
    public func set(_ i: Int, _ r: ScenarioResult) { results.withLockedValue { $0[i] = r } }
    public var all: [ScenarioResult] { results.withLockedValue { $0.compactMap { $0 } } }
    public func has(_ i: Int) -> Bool { results.withLockedValue { $0[i] != nil } }
    public func at(_ i: Int) -> ScenarioResult? { results.withLockedValue { $0[i] } }
}

/// Counts stop requests (SIGINT, SIGTERM, SIGHUP). A signal within `debounce` seconds of the
/// previous counted one is the same request delivered twice and is not counted.
public final class SignalCounter: Sendable {
    private let state = NIOLockedValueBox((n: 0, last: Date?.none))
    public let debounce: TimeInterval
    public init(debounce: TimeInterval = 1) { self.debounce = debounce }
    /// The count after this signal, or nil when it was a repeat of the previous one.
    public func increment(at now: Date = Date()) -> Int? {
        state.withLockedValue { s in
            if let last = s.last, now.timeIntervalSince(last) < debounce { return nil }
            s.last = now
            s.n += 1
            return s.n
        }
    }
    public var count: Int { state.withLockedValue { $0.n } }
}

/// Ignores SIGINT, SIGTERM and SIGHUP as signals and calls `handler` with the request count for
/// each one counted (see `SignalCounter`). Keep the returned sources alive.
public func installSignalHandlers(_ handler: @escaping @Sendable (Int) -> Void, counter: SignalCounter) -> [DispatchSourceSignal] {
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal(sig, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        s.setEventHandler {
            if let n = counter.increment() { handler(n) }
        }
        s.resume()
        sources.append(s)
    }
    return sources
}

