/// Bounds a reader enforces on what a peer may send. A message over a limit is a protocol error
/// on that connection. Names and infos are bounded by their length fields (255 and 65,535 bytes);
/// the only unbounded field on the wire is the 32-bit text length, so that is what a limit caps.
public struct Limits: Sendable, Hashable {
    /// Largest text (chat, status or quit) accepted, in bytes.
    public var maxTextLength: Int

    public init(maxTextLength: Int = Limits.defaultMaxTextLength) {
        self.maxTextLength = maxTextLength
    }

    /// 64 KiB: far above any chat a person types, small enough that a hostile length costs little.
    public static let defaultMaxTextLength = 65_536
    public static let `default` = Limits()
}

/// This package's version, printed by every command's `--version`.
public let crcVersion = "0.6.0"
