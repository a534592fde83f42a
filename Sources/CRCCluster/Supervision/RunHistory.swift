/// What a run did, in order, and only ever added to: the steps with when they began and when the
/// network converged after each, every chat and quit sent with what the model says of it, and the
/// routing decisions the servers' logs must show. The checkers and the report read it; the
/// scenario's steps write it, through these few mutations only. A value: no I/O, no locks.
public struct RunHistory: Sendable {
    /// Each step, when it began and when the network had converged after it (for the report).
    public private(set) var steps: [RunRecord.StepMark] = []
    /// Every chat sent, in order, with where the model says it goes.
    public private(set) var chats: [ChatRecord] = []
    /// Every quit sent, with the crossings the model says it must make.
    public private(set) var quits: [QuitRecord] = []
    /// Chats each server must have logged with each next hop, and unknown-id answers it must have
    /// given (the log-based path audit, for runs whose links are not tapped).
    private(set) var chatFlows: [ChatFlow: Int] = [:]
    private(set) var unknownAnswers: [ChatFlow: Int] = [:]

    /// One routing decision: `server` sent the chat `source` → `destination` on to `nextHop`
    /// (0 for an unknown destination, answered by `server`).
    struct ChatFlow: Hashable, Comparable, Sendable {
        var server: String
        var source: UInt32
        var destination: UInt32
        var nextHop: UInt32 = 0
        static func < (a: ChatFlow, b: ChatFlow) -> Bool {
            (a.server, a.source, a.destination, a.nextHop) < (b.server, b.source, b.destination, b.nextHop)
        }
    }

    public init() {}

    /// A step began at `time` (seconds on the run's clock).
    mutating func began(_ step: Step, at time: Double) {
        var fault = step.faultedLink != nil
        switch step {
        case .stop, .kill, .restart: fault = true
        default: break
        }
        steps.append(RunRecord.StepMark(index: steps.count + 1, summary: step.summary, start: time, converged: nil, fault: fault))
    }

    /// The network matched the model at `time`: the first time since the last step began.
    mutating func converged(at time: Double) {
        if let last = steps.indices.last, steps[last].converged == nil { steps[last].converged = time }
    }

    /// A chat was sent; the servers on its path must log it once each (or its sender's server answer it).
    mutating func sent(_ chat: ChatRecord) {
        count(chat, 1)
        chats.append(chat)
    }

    private mutating func count(_ chat: ChatRecord, _ n: Int) {
        switch chat.outcome {
        case .delivered(_, let hops):
            for hop in hops {
                chatFlows[ChatFlow(server: hop.server, source: chat.sourceID, destination: chat.destinationID, nextHop: hop.nextHop), default: 0] += n
            }
        case .unknownDestination(let server):
            unknownAnswers[ChatFlow(server: server, source: chat.sourceID, destination: chat.destinationID), default: 0] += n
        case .senderNotLive:
            break
        }
    }

    mutating func sent(_ quit: QuitRecord) { quits.append(quit) }

    /// Chat `index` met another outcome than the model first said (a raced chat, `ChatRaces`):
    /// the routing its servers must have logged changes with it.
    mutating func revise(chat index: Int, to outcome: NetworkModel.ChatOutcome) {
        count(chats[index], -1)
        chats[index].outcome = outcome
        count(chats[index], 1)
    }
}
