#if canImport(Glibc)
import Glibc
#endif

/// Files under /proc, read to their end, the one way this package reads them. They report a size
/// of 0, Foundation's `String(contentsOfFile:)` and `FileManager.contents(atPath:)` stop at the
/// first short read, and the kernel's socket tables return one page per read: Foundation saw
/// 4,050 of /proc/net/tcp's 737,550 bytes during a test run here, and a listener further down
/// was never found.
public enum ProcFile {
    public static func bytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            return n == 0 ? bytes : nil
        }
    }

    public static func text(_ path: String) -> String? {
        bytes(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
