#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `text` to a file descriptor with as few write(2) calls as it takes, unbuffered:
/// each line a node or crc-cluster prints arrives whole, so lines from many writers never
/// interleave mid-line and nothing waits in a buffer when a process is killed.
public func writeFully(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
        if n < 0, errno == EINTR { continue }
        if n <= 0 { return }
        off += n
    }
}

/// One line to stdout.
public func writeOut(_ line: String) { writeFully(1, line + "\n") }

/// One line to stderr.
public func writeErr(_ line: String) { writeFully(2, line + "\n") }
