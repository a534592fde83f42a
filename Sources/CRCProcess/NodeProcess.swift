import CRCTerminal
import CSystemShims
import Foundation
import CRCContract
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// One child process (a server or a client): started with `posix_spawn` (through `ChildReaper`)
/// in a process group of its own, its stdout and stderr captured line by line, its stdin writable.
/// Waiting is always for an event with a deadline.
///
/// Children are started through `setpriv --pdeathsig KILL` when available, so they die with the
/// process that started them even if it is killed with SIGKILL. Start them from a long-lived thread
/// (the parent-death signal fires when the *thread* that forked the child exits).
public final class NodeProcess: @unchecked Sendable {  // mutable state is guarded by `condition`
    public enum Stream: String, Sendable { case stdout, stderr }

    public let name: String
    public let executable: String
    public let arguments: [String]
    private let launchPath: String
    private let launchArguments: [String]
    private let environment: [String: String]
    private let workingDirectory: String?
    private var stdinFD: Int32 = -1
    private var processID: pid_t = 0
    private let condition = NSCondition()
    private var outLines: [String] = []
    private var errLines: [String] = []
    private var partial: [Stream: [UInt8]] = [:]
    /// Limits the program runs under (a graded program), if any.
    private let sandbox: Sandbox?
    /// Bytes of each stream kept; past it, output is read and dropped (and counted).
    private let outputLimit: Int?
    private var kept: [Stream: Int] = [:]
    private var dropped: [Stream: Int] = [:]
    private var closedStreams = 0
    /// Called for every complete line, on a background thread.
    public var onLine: (@Sendable (NodeProcess, Stream, String) -> Void)?

    public static let setprivPath: String? = FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") ? "/usr/bin/setpriv" : nil

    /// How a child is made to die with its launcher.
    public enum ParentDeath: Sendable {
        /// The child is one of this package's executables: it arms the parent-death signal itself
        /// (environment `CRC_DIE_WITH_PARENT`), which spares an extra exec.
        case selfArmed
        /// Any other program: started through `setpriv --pdeathsig KILL` (util-linux).
        case setpriv
    }

    public init(name: String, executable: String, arguments: [String], workingDirectory: URL? = nil,
                environment: [String: String]? = nil, parentDeath: ParentDeath = .setpriv, sandbox: Sandbox? = nil) {
        self.name = name
        var env = environment ?? ProcessInfo.processInfo.environment
        let executable = Self.resolve(executable, path: env["PATH"])
        self.executable = executable
        self.arguments = arguments
        env["CRC_DIE_WITH_PARENT"] = nil
        self.sandbox = sandbox
        outputLimit = sandbox?.outputBytes
        if sandbox != nil {
            // Started through setpriv and prlimit at start(), which says so if they are missing.
            launchPath = executable
            launchArguments = arguments
        } else if parentDeath == .selfArmed {
            env["CRC_DIE_WITH_PARENT"] = String(getpid())
            launchPath = executable
            launchArguments = arguments
        } else if let setpriv = Self.setprivPath {
            launchPath = setpriv
            launchArguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            launchPath = executable
            launchArguments = arguments
        }
        self.environment = env
        self.workingDirectory = workingDirectory?.path
    }

    /// A bare command name (`sh`, `python3`) is looked up in PATH, as a shell would.
    public static func resolve(_ command: String, path: String?) -> String {
        guard !command.contains("/") else { return command }
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return command
    }

    public var pid: Int32 { condition.lock(); defer { condition.unlock() }; return processID }
    public var isRunning: Bool { exitStatus == nil }

    public func start() throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ClusterError("\(name): executable not found or not executable: \(executable)"
                                   + (executable.contains("/") ? "" : " (not in PATH either)"))
        }
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard crc_pipe_cloexec(&inPipe) == 0 else { throw ClusterError("\(name): cannot make a pipe: \(String(cString: strerror(errno)))") }
        guard crc_pipe_cloexec(&outPipe) == 0 else {
            inPipe.forEach { close($0) }
            throw ClusterError("\(name): cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        guard crc_pipe_cloexec(&errPipe) == 0 else {
            (inPipe + outPipe).forEach { close($0) }
            throw ClusterError("\(name): cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            let (path, args) = try sandbox.map { try $0.launch(launchPath, launchArguments) } ?? (launchPath, launchArguments)
            pid = try ChildReaper.shared.spawn(path: path, arguments: args, environment: environment,
                                               workingDirectory: workingDirectory,
                                               stdin: inPipe[0], stdout: outPipe[1], stderr: errPipe[1])
        } catch {
            (inPipe + outPipe + errPipe).forEach { close($0) }
            throw ClusterError("\(name): \(error)")
        }
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        condition.lock()
        processID = pid
        stdinFD = inPipe[1]
        condition.unlock()
        // Output is read on an event loop (NIO owns and closes each pipe). Dispatch read sources
        // were used first: libdispatch's Linux event loop crashed (a stale registration after a
        // cancel handler closed the pipe) when relay sockets closed at the same moment, about one
        // run in four of a tapped network's teardown.
        for (fd, stream) in [(outPipe[0], Stream.stdout), (errPipe[0], Stream.stderr)] {
            let reader = OutputReader(process: self, stream: stream)
            NIOPipeBootstrap(group: Self.outputLoops)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(reader) }
                }
                .takingOwnershipOfDescriptor(input: fd)
                .whenFailure { [weak self] _ in
                    close(fd)
                    self?.consume([], from: stream)
                }
        }
    }

    /// The loops that read every node's output, for the life of the process.
    static let outputLoops = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    /// Hands a pipe's bytes to its process, and the end of the pipe as an empty read.
    private final class OutputReader: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        weak let process: NodeProcess?
        let stream: Stream
        init(process: NodeProcess, stream: Stream) {
            self.process = process
            self.stream = stream
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            bytes.withUnsafeReadableBytes { process?.consume(ArraySlice($0), from: stream) }
        }
        func channelInactive(context: ChannelHandlerContext) {
            process?.consume([], from: stream)
        }
        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }

    fileprivate func consume(_ data: ArraySlice<UInt8>, from stream: Stream) {
        condition.lock()
        if data.isEmpty {
            // End of stream: keep a last unterminated line.
            if let rest = partial[stream], !rest.isEmpty { appendLine(String(decoding: rest, as: UTF8.self), stream) }
            partial[stream] = nil
            closedStreams += 1
        } else if let limit = outputLimit, kept[stream, default: 0] >= limit {
            dropped[stream, default: 0] += data.count
            partial[stream] = nil
        } else {
            kept[stream, default: 0] += data.count
            var buffer = partial[stream] ?? []
            var start = data.startIndex
            while let nl = data[start...].firstIndex(of: 0x0A) {
                if buffer.isEmpty {
                    appendLine(String(decoding: data[start..<nl], as: UTF8.self), stream)
                } else {
                    buffer += data[start..<nl]
                    appendLine(String(decoding: buffer, as: UTF8.self), stream)
                    buffer.removeAll()
                }
                start = nl + 1
            }
            buffer += data[start...]
            // A line longer than the limit (or 1 MiB) is cut: output without newlines must not
            // grow without end.
            if buffer.count > min(outputLimit ?? (1 << 20), 1 << 20) {
                appendLine(String(decoding: buffer.prefix(4096), as: UTF8.self) + " … (a line of \(buffer.count) bytes, cut)", stream)
                buffer.removeAll()
            }
            partial[stream] = buffer
        }
        condition.broadcast()
        condition.unlock()
    }

    private var hostedExits: [String: Int32] = [:]

    /// For a process hosting many clients: the exit code a hosted client reported, if it ended.
    public func hostedExit(_ client: String) -> Int32? {
        condition.lock()
        defer { condition.unlock() }
        return hostedExits[client]
    }

    private var linesByClient: [String: [Int]] = [:]

    /// The "client" of a hosted client's event line: hosted clients write it first (a digest's
    /// chat log can make a line arbitrarily long, so nothing after it is looked at).
    static func hostedClient(of line: String) -> String? {
        let head = line.utf8.prefix(300)
        let key = Array("\"client\":\"".utf8)
        let bytes = Array(head)
        guard bytes.count > key.count else { return nil }
        var i = 0
        while i + key.count <= bytes.count {
            if bytes[i] == key[0], Array(bytes[i..<(i + key.count)]) == key {
                var j = i + key.count
                var name: [UInt8] = []
                while j < bytes.count, bytes[j] != UInt8(ascii: "\"") {
                    if bytes[j] == UInt8(ascii: "\\") { return nil }  // escaped names: fall back to parsing
                    name.append(bytes[j])
                    j += 1
                }
                return j < bytes.count ? String(decoding: name, as: UTF8.self) : nil
            }
            i += 1
        }
        return nil
    }

    /// Waits for an event of one hosted client, looking only at that client's lines.
    public func waitForHostedEvent(client: String, event: NodeEvent.Kind, from: Int, timeout: TimeInterval,
                                   matching: (NodeEvent) -> Bool) -> NodeEvent? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        var seen = 0
        while true {
            let indices = linesByClient[client] ?? []
            while seen < indices.count {
                let i = indices[seen]
                seen += 1
                guard i >= from, NodeEvent.kind(of: outLines[i]) == event, let e = NodeEvent(line: outLines[i]), matching(e) else { continue }
                return e
            }
            if closedStreams >= 2 { return nil }
            if !condition.wait(until: deadline) { return nil }
        }
    }

    private func appendLine(_ line: String, _ stream: Stream) {
        if stream == .stdout { outLines.append(line) } else { errLines.append(line) }
        if stream == .stdout, let client = Self.hostedClient(of: line) {
            linesByClient[client, default: []].append(outLines.count - 1)
        }
        if stream == .stdout, line.hasSuffix("}"), NodeEvent.kind(of: line) == .exited, let e = NodeEvent(line: line),
           let client = e.string("client"), let code = e.int("code") {
            hostedExits[client] = Int32(code)
        }
        onLine?(self, stream, line)
    }

    public var stdoutLines: [String] { condition.lock(); defer { condition.unlock() }; return outLines }
    /// Bytes of output dropped past the sandbox's limit, per stream.
    public var droppedOutput: (stdout: Int, stderr: Int) {
        condition.lock(); defer { condition.unlock() }
        return (dropped[.stdout] ?? 0, dropped[.stderr] ?? 0)
    }
    public var stderrLines: [String] { condition.lock(); defer { condition.unlock() }; return errLines }

    /// Waits until a stdout line (at index ≥ `from`) satisfies `predicate`, or the deadline passes,
    /// or the process's output ends. Returns the line and its index.
    public func waitForLine(from: Int = 0, timeout: TimeInterval, where predicate: (String) -> Bool) -> (line: String, index: Int)? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        var i = from
        while true {
            while i < outLines.count {
                if predicate(outLines[i]) { return (outLines[i], i) }
                i += 1
            }
            if closedStreams >= 2 { return nil }
            if !condition.wait(until: deadline) { return nil }
        }
    }

    /// Waits until both of the process's output streams have ended (it exited and its last lines
    /// were read), or `timeout` passes: after `waitForExit`, the lines it printed last may still be
    /// in the pipe. True when the output ended in time.
    @discardableResult
    public func waitForEndOfOutput(timeout: TimeInterval = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while closedStreams < 2 {
            if !condition.wait(until: deadline) { return closedStreams >= 2 }
        }
        return true
    }

    /// Waits for an event of kind `event` (and which satisfies `matching`).
    public func waitForEvent(_ event: NodeEvent.Kind, from: Int = 0, timeout: TimeInterval,
                             matching: (NodeEvent) -> Bool = { _ in true }) -> NodeEvent? {
        var found: NodeEvent?
        _ = waitForLine(from: from, timeout: timeout) { line in
            guard NodeEvent.kind(of: line) == event, let e = NodeEvent(line: line), matching(e) else { return false }
            found = e
            return true
        }
        return found
    }

    /// The events among the process's stdout lines, of `kind` when given.
    public func events(_ kind: NodeEvent.Kind? = nil) -> [NodeEvent] {
        stdoutLines.compactMap { line in
            guard kind == nil || NodeEvent.kind(of: line) == kind else { return nil }
            return NodeEvent(line: line)
        }
    }

    /// Writes one line to the process's stdin.
    public func send(line: String) { send(raw: line + "\n") }

    /// Writes `text` to the process's stdin as it is (keys typed at a terminal, say).
    public func send(raw text: String) {
        // A copy of the descriptor, taken under the lock: if stdin is closed meanwhile, its number
        // may be reused by a socket of this process, which must never receive a node's command.
        condition.lock()
        let fd = stdinFD >= 0 ? dup(stdinFD) : -1
        condition.unlock()
        guard fd >= 0 else { return }
        defer { close(fd) }
        writeFully(fd, text)
    }

    public func closeStdin() {
        condition.lock()
        let fd = stdinFD
        stdinFD = -1
        condition.unlock()
        if fd >= 0 { close(fd) }
    }

    public func signal(_ sig: Int32) {
        let pid = self.pid
        guard pid > 0, isRunning else { return }
        kill(pid, sig)
    }

    /// Signals the node's whole process group (it leads one of its own), while the node runs.
    public func signalGroup(_ sig: Int32) {
        let pid = self.pid
        // Once reaped, its group was killed then (`ChildReaper`); its id may belong to a stranger now.
        guard pid > 0, isRunning else { return }
        kill(-pid, sig)
    }

    /// Waits for the process to exit; nil if it is still running at the deadline.
    public func waitForExit(timeout: TimeInterval) -> ExitStatus? {
        let pid = self.pid
        guard pid > 0 else { return nil }
        return ChildReaper.shared.wait(for: pid, until: Date().addingTimeInterval(timeout)).map(Self.decode)
    }

    public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        public var description: String {
            switch self {
            case .exited(let c): return "exit \(c)"
            case .signalled(let s): return "signal \(s) (\(signalName(s)))"
            }
        }
    }

    static func decode(_ status: Int32) -> ExitStatus {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    public var exitStatus: ExitStatus? {
        let pid = self.pid
        guard pid > 0 else { return nil }
        return ChildReaper.shared.status(of: pid).map(Self.decode)
    }

    /// SIGTERM, then SIGKILL after `grace` seconds if it is still running.
    @discardableResult
    public func stop(grace: TimeInterval = 2) -> ExitStatus? {
        guard isRunning else { return exitStatus }
        signal(SIGTERM)
        if let status = waitForExit(timeout: grace) { return status }
        signal(SIGKILL)
        return waitForExit(timeout: 5)
    }
}

public func signalName(_ sig: Int32) -> String {
    switch sig {
    case SIGINT: return "SIGINT"
    case SIGTERM: return "SIGTERM"
    case SIGKILL: return "SIGKILL"
    case SIGHUP: return "SIGHUP"
    case SIGSEGV: return "SIGSEGV"
    case SIGABRT: return "SIGABRT"
    case SIGILL: return "SIGILL"
    case SIGTRAP: return "SIGTRAP"
    case SIGBUS: return "SIGBUS"
    case SIGPIPE: return "SIGPIPE"
    default: return "signal \(sig)"
    }
}

/// Something crc-cluster or a tool built on these processes could not do, said in one line.
public struct ClusterError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
