import CRCContract
import CRCCore
import NIOCore

/// Back-pressure: a link that cannot take more pauses reading from the others (lazily, at the end
/// of their read bursts), and a peer that takes nothing for too long is cut.
extension ServerRuntime {
    /// The channel of `link` went below its low-water mark (or above its high one).
    func writabilityChanged(_ link: LinkID) {
        guard let ctx = links[link] else { return }
        if ctx.channel.isWritable, ctx.blockedSince != nil {
            ctx.blockedSince = nil
            blocked.remove(link)
            updateReading()
        }
    }

    /// Reads from a link only while every *other* link can take more. The blocked link itself keeps
    /// being read: what it sends goes elsewhere, and two servers that each wait for the other to
    /// read would otherwise never move again.
    ///
    /// Pausing is lazy: a link is paused when a read burst from it completes while another link
    /// is blocked, so only links that actually send are touched, and unblocking resumes just
    /// those. (Pausing every link at once costs a system call per link each time one client falls
    /// behind, which in a registration storm with thousands of clients is most of the work.)
    func updateReading() {
        if blocked.isEmpty {
            for id in pausedLinks { if let ctx = links[id], ctx.readPaused { setReading(ctx, paused: false) } }
            pausedLinks.removeAll(keepingCapacity: true)
        } else if blocked.count == 1, let ctx = links[blocked.first!], ctx.readPaused {
            setReading(ctx, paused: false)
        }
    }

    /// A read burst from `ctx` completed: if another link is blocked, read no more from it for now.
    func pauseIfBackPressured(_ ctx: LinkContext) {
        guard !blocked.isEmpty, !ctx.readPaused, blocked.count > 1 || !blocked.contains(ctx.id) else { return }
        setReading(ctx, paused: true)
        pausedLinks.append(ctx.id)
    }

    func setReading(_ ctx: LinkContext, paused: Bool) {
        ctx.readPaused = paused
        try? ctx.channel.syncOptions?.setOption(.autoRead, value: !paused)
    }

    /// A peer that stays blocked and takes nothing while everyone waits for it, for the configured
    /// time, is a slow consumer: it is disconnected, so one stuck peer cannot stall the network.
    /// A peer that is slow but takes something (bytes left this server's queue for the socket
    /// during the wait) is not cut: the wait starts again. At the end of a chain behind a slow
    /// reader, every link stays above its low-water mark for as long as the reader is behind, while
    /// the chats keep moving; cutting on "blocked for 10 s" alone split the network there.
    func scheduleSlowConsumerCheck(_ link: LinkID, since: NIODeadline) {
        guard let start = links[link] else { return }
        let timeout = configuration.slowConsumerTimeout
        let (queuedAtStart, handedAtStart) = (queuedBytes(start), handedBytes(start))
        eventLoop.scheduleTask(in: timeout) { [self] in
            guard let ctx = links[link], ctx.blockedSince == since else { return }
            let queued = queuedBytes(ctx)
            // Unknown when the channel cannot say what it holds (then only "blocked" counts).
            if let before = queuedAtStart, let now = queued, before + Int(handedBytes(ctx) &- handedAtStart) - now > 0 {
                scheduleSlowConsumerCheck(link, since: since)
                return
            }
            logger.warning(.slowConsumer, metadata: ["link": .stringConvertible(link.rawValue), "remote": .string(ctx.remote),
                                                       "queued_bytes": .stringConvertible(queued ?? 0),
                                                       "reason": .string("took nothing for \(timeout.nanoseconds / 1_000_000) ms while others waited")])
            ctx.channel.close(mode: .all, promise: nil)
        }
    }

    /// Bytes the channel holds, not yet written to the socket (nil: it cannot tell).
    private func queuedBytes(_ ctx: LinkContext) -> Int? {
        try? ctx.channel.syncOptions?.getOption(.bufferedWritableBytes)
    }

    /// Bytes handed to the channel so far (what was sent, less what waits for the end of the turn).
    private func handedBytes(_ ctx: LinkContext) -> UInt64 {
        ctx.bytesOut &- UInt64(ctx.pending.readableBytes)
    }

}
