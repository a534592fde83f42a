import CRCContract
import Logging

/// The server logs its events by `NodeEvent.Kind` only (scripts/check-architecture.py rejects a
/// log message written as a string literal), so every line its log holds is one crc-cluster decodes.
extension Logger {
    @inlinable
    func trace(_ event: NodeEvent.Kind, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(level: .trace, Logger.Message(stringLiteral: event.rawValue), metadata: metadata())
    }
    @inlinable
    func debug(_ event: NodeEvent.Kind, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(level: .debug, Logger.Message(stringLiteral: event.rawValue), metadata: metadata())
    }
    @inlinable
    func info(_ event: NodeEvent.Kind, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(level: .info, Logger.Message(stringLiteral: event.rawValue), metadata: metadata())
    }
    @inlinable
    func warning(_ event: NodeEvent.Kind, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(level: .warning, Logger.Message(stringLiteral: event.rawValue), metadata: metadata())
    }
    @inlinable
    func error(_ event: NodeEvent.Kind, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        log(level: .error, Logger.Message(stringLiteral: event.rawValue), metadata: metadata())
    }
}
