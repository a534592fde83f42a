#if canImport(Glibc)
import Glibc
#endif

/// "YYYY-MM-DDTHH:MM:SS.ffffffZ" for a UTC time given as broken-down fields: the timestamp
/// format of every node's JSON log, so that logs merge into one timeline by sorting.
public func isoTimestamp(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int) -> String {
    func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(microsecond, 6))Z"
}

/// Log timestamps (`isoTimestamp`'s format) for the current time. The date and time part is
/// formatted once per second; a busy node writes many lines a second. Thread-safe.
public final class LogClock: @unchecked Sendable {  // `second` and `prefix` are guarded by `mutex`
    public static let shared = LogClock()

    private var second = -1
    private var prefix = ""
    /// On the heap: a mutex must not move, and Swift gives `&property` no stable address.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        m.initialize(to: pthread_mutex_t())
        return m
    }()

    public init() { pthread_mutex_init(mutex, nil) }

    public func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let micros = String(Int(ts.tv_nsec / 1000))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if Int(ts.tv_sec) != second {
            second = Int(ts.tv_sec)
            var t = time_t(ts.tv_sec)
            var tmv = tm()
            gmtime_r(&t, &tmv)
            let full = isoTimestamp(year: Int(tmv.tm_year) + 1900, month: Int(tmv.tm_mon) + 1, day: Int(tmv.tm_mday),
                                    hour: Int(tmv.tm_hour), minute: Int(tmv.tm_min), second: Int(tmv.tm_sec), microsecond: 0)
            prefix = String(full.dropLast(7))  // up to and including the "."
        }
        return prefix + String(repeating: "0", count: 6 - micros.count) + micros + "Z"
    }
}
