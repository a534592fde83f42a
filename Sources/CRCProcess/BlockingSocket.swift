import Foundation

/// A blocking TCP connection, for the few places that speak to a node directly and simply:
/// the monitoring client, the benchmark's raw clients, and tests that send raw bytes.
public enum BlockingSocket {
    /// Connects to `host:port` (an IPv4 address). `timeout` bounds each read and write;
    /// `receiveBuffer` shrinks the kernel's buffer (to make a slow reader quickly).
    public static func connect(host: String = "127.0.0.1", port: Int, timeout: TimeInterval? = nil,
                               receiveBuffer: Int32? = nil, noDelay: Bool = false) throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)  // a closed peer must fail a write, not kill the process
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket: \(String(cString: strerror(errno)))") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let timeout {
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        if noDelay {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw ClusterError("bad address \(host)")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ClusterError("cannot connect to \(host):\(port): \(reason)")
        }
        return fd
    }
}

extension BlockingSocket {
    /// One request line to a loopback port, and the one line it answers (up to 16 MiB), within
    /// `timeout` seconds: the class host's state port speaks this way.
    public static func request(port: Int, line: String, timeout: TimeInterval) throws -> String {
        let fd = try connect(port: port, timeout: timeout)
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw ClusterError("cannot write to port \(port): \(String(cString: strerror(errno)))")
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !answer.contains(UInt8(ascii: "\n")) {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 { answer += chunk[0..<n]; if answer.count > 16 << 20 { throw ClusterError("port \(port) answered more than 16 MiB") }; continue }
            if n == 0 { break }
            throw ClusterError(errno == EAGAIN ? "port \(port) did not answer within \(timeout) s" : "reading from port \(port): \(String(cString: strerror(errno)))")
        }
        guard let end = answer.firstIndex(of: UInt8(ascii: "\n")) else { throw ClusterError("port \(port) closed without an answer") }
        return String(decoding: answer[..<end], as: UTF8.self)
    }

    /// A loopback port that is free now (bound and released), for programs that must be told
    /// their port on the command line rather than report the one they got.
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0 else { throw ClusterError("cannot bind a loopback port: \(String(cString: strerror(errno)))") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// True when something accepts connections on the loopback `port`.
    public static func accepts(port: Int) -> Bool {
        guard let fd = try? connect(port: port, timeout: 1) else { return false }
        close(fd)
        return true
    }
}

extension BlockingSocket {
    /// An IPv4 address for a host name (or the address itself), for servers on other machines.
    public static func resolve(_ host: String) throws -> String {
        var probe = in_addr()
        if inet_pton(AF_INET, host, &probe) == 1 { return host }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &result)
        guard rc == 0, let first = result else {
            throw ClusterError("cannot resolve host name '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        let addr = first.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        var a = addr
        inet_ntop(AF_INET, &a, &text, socklen_t(INET_ADDRSTRLEN))
        return String(cString: text)
    }
}

extension BlockingSocket {
    /// True when `port` can be bound on the loopback address now (with SO_REUSEADDR, as servers bind).
    public static func canBind(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}
