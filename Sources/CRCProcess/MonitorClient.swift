import CRCCore
import Foundation
#if canImport(Glibc)
import Glibc
import CRCContract
#endif

/// Reads a running server's state from its monitoring endpoint (`GET /state`).
public enum MonitorClient {
    public static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }()

    public static func fetchState(host: String = "127.0.0.1", port: Int, timeout: TimeInterval = 2) throws -> ServerSnapshot {
        let body = try get(host: host, port: port, path: "/state", timeout: timeout)
        return try decoder.decode(ServerSnapshot.self, from: body)
    }

    public static func fetchDigest(host: String = "127.0.0.1", port: Int, timeout: TimeInterval = 2) throws -> ServerDigest {
        let body = try get(host: host, port: port, path: "/digest", timeout: timeout)
        return try decoder.decode(ServerDigest.self, from: body)
    }

    /// A minimal blocking HTTP/1.0 GET over loopback; returns the body.
    public static func get(host: String, port: Int, path: String, timeout: TimeInterval) throws -> Data {
        let fd = try BlockingSocket.connect(host: host, port: port, timeout: timeout)
        defer { close(fd) }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var response = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { throw ClusterError("reading from \(host):\(port): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            response.append(contentsOf: chunk[0..<n])
        }
        guard let sep = response.range(of: Data("\r\n\r\n".utf8)) else {
            throw ClusterError("malformed HTTP answer from \(host):\(port)")
        }
        let head = String(decoding: response[..<sep.lowerBound], as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 200") || head.hasPrefix("HTTP/1.0 200") else {
            throw ClusterError("\(host):\(port)\(path) answered \(head.split(separator: "\r\n").first ?? "")")
        }
        return Data(response[sep.upperBound...])
    }
}
