import CRCCore
import CRCProtocol
import NIOCore

/// The coverage-guided fuzz target (libFuzzer): one input is a byte stream split across several
/// links of one server core. It drives the incremental frame parser exactly as a connection does
/// (bytes arrive in pieces, messages are handed to the core as they complete) and checks:
///
/// - nothing crashes or traps (overflow, out of bounds, force unwrap);
/// - what waits for the rest of a message stays under one largest message;
/// - every parsed message encodes back to bytes that parse to the same message;
/// - what the core keeps is bounded by the registrations it accepted.
///
/// Built by `scripts/fuzz.sh` (`swift build --sanitize=fuzzer -Xswiftc -DCRC_FUZZ`); without
/// CRC_FUZZ the executable only explains how to run it.
enum FuzzTarget {
    static let limits = Limits(maxTextLength: 4096)
    static let largestMessage = 12 + 255 + 65_535

    static func run(_ data: UnsafeRawBufferPointer) {
        guard !data.isEmpty else { return }
        var core = ServerCore(id: 1, name: "target", info: "", logsRouting: true)
        var actions: [Action] = []
        // Up to four links; the first one is the core's own upstream when the first byte is odd.
        let linkCount = Int(data[0] & 3) + 1
        var parsers: [MessageParser] = []
        var buffers: [ByteBuffer] = []
        var links: [LinkID] = []
        for i in 0..<linkCount {
            let link = LinkID(UInt64(i + 1))
            links.append(link)
            parsers.append(MessageParser(limits: limits))
            buffers.append(ByteBuffer())
            core.linkOpened(link, outbound: i == 0 && data[0] & 4 != 0, into: &actions)
        }
        var accepted = 0
        var offset = 1
        // Each chunk: one control byte (which link, how many bytes follow), then the bytes.
        while offset < data.count {
            let control = data[offset]
            offset += 1
            let which = Int(control) % linkCount
            let length = min(Int(control >> 2) + 1, data.count - offset)
            guard length > 0 else { break }
            buffers[which].writeBytes(UnsafeRawBufferPointer(rebasing: data[offset..<(offset + length)]))
            offset += length
            do {
                while let message = try parsers[which].parse(&buffers[which]) {
                    var encoded = message.encoded
                    let again = try MessageParser(limits: limits).parse(&encoded)
                    precondition(again == message, "re-encoding changed the message: \(message)")
                    precondition(encoded.readableBytes == 0, "re-encoding left bytes over")
                    if case .serverRegistration = message { accepted += 1 }
                    if case .clientRegistration = message { accepted += 1 }
                    core.receive(message, on: links[which], into: &actions)
                    actions.removeAll(keepingCapacity: true)
                }
            } catch {
                // A protocol error closes that connection; a new one takes its place.
                core.linkClosed(links[which], into: &actions)
                let fresh = LinkID(links.map(\.rawValue).max()! + 1)
                links[which] = fresh
                parsers[which] = MessageParser(limits: limits)
                buffers[which] = ByteBuffer()
                core.linkOpened(fresh, outbound: false, into: &actions)
                actions.removeAll(keepingCapacity: true)
            }
            precondition(buffers[which].readableBytes <= largestMessage + 64, "unbounded buffering")
            buffers[which].discardReadBytes()
        }
        precondition(core.hosts.count <= accepted, "the core knows hosts nobody registered")
        precondition(core.peers.count <= linkCount, "more peers than open links")
        for link in links { core.linkClosed(link, into: &actions) }
        precondition(core.hosts.isEmpty, "hosts survived the close of every link")
    }
}

#if CRC_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
@main
struct CRCFuzzUsage {
    static func main() {
        print("crc-fuzz is a libFuzzer target. Run it with: scripts/fuzz.sh [SECONDS]")
    }
}
#endif
