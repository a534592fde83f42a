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

    /// A peer that stays blocked (takes nothing while everyone waits for it) for the configured
    /// time is a slow consumer: it is disconnected, so one stuck peer cannot stall the network.
    func scheduleSlowConsumerCheck(_ link: LinkID, since: NIODeadline) {
        let timeout = configuration.slowConsumerTimeout
        eventLoop.scheduleTask(in: timeout) { [self] in
            guard let ctx = links[link], ctx.blockedSince == since else { return }
            let queued = (try? ctx.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
            logger.warning("slow_consumer", metadata: ["link": .stringConvertible(link.rawValue), "remote": .string(ctx.remote),
                                                       "queued_bytes": .stringConvertible(queued),
                                                       "reason": .string("took nothing for \(timeout.nanoseconds / 1_000_000) ms while others waited")])
            ctx.channel.close(mode: .all, promise: nil)
        }
    }

}
