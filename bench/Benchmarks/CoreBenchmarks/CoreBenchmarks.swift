import Benchmark
import CRCCore
import CRCProtocol
import NIOCore

/// The figures the relay and the storms rest on, measured in one process (no sockets: the
/// shared machines' noise is smallest there). `Thresholds/` holds each one's p90 as measured here;
/// `thresholds check` fails (exit 2) when a run is worse than that by more than the tolerance set
/// below. (Names have no spaces: the tool reads threshold files back by the raw name.)
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 3,
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 200,
        thresholds: [
            // The check compares each run's p90 with the stored p90: 60 % slower fails (the shared
            // machines vary by about ±25 % from run to run), and any rise in allocations beyond 10 %.
            .wallClock: BenchmarkThresholds(relative: [.p50: 60.0, .p90: 60.0]),
            .mallocCountTotal: BenchmarkThresholds(relative: [.p50: 10.0, .p90: 10.0]),
        ]
    )

    // 1,000 chats of 32 bytes, framed from one buffer.
    Benchmark("parse-1k-chats") { benchmark in
        var bytes = ByteBuffer()
        for i in 0..<1_000 {
            let n = String(i)
            _ = bytes.writeCRCMessage(.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: String(repeating: "x", count: 32 - n.count) + n)))
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var copy = bytes
            blackHole(try MessageParser().parseAll(&copy))  // 1,000 messages each time
        }
    }

    // 1,000 chats relayed by a server core between two clients: the routing decision per chat.
    Benchmark("relay-1k-chats-in-ServerCore") { benchmark in
        var core = ServerCore(id: 1, name: "hub", info: "")
        var actions: [Action] = []
        let a = LinkID(1), b = LinkID(2)
        core.linkOpened(a, outbound: false, into: &actions)
        core.linkOpened(b, outbound: false, into: &actions)
        core.receive(.clientRegistration(Registration(sourceID: 101, lastHopID: 0, name: "a", info: "")), on: a, into: &actions)
        core.receive(.clientRegistration(Registration(sourceID: 102, lastHopID: 0, name: "b", info: "")), on: b, into: &actions)
        actions.removeAll()
        let chat = Message.clientChat(ClientChat(sourceID: 101, destinationID: 102, text: "a chat of thirty-two bytes......"))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for _ in 0..<1_000 {
                core.receive(chat, on: a, into: &actions)
                actions.removeAll(keepingCapacity: true)
            }
        }
    }

    // A registration storm in memory: 300 clients join one server; every client hears of every other.
    Benchmark("storm-300-clients-in-Simulation", configuration: .init(
        metrics: [.wallClock, .mallocCountTotal], timeUnits: .milliseconds, maxDuration: .seconds(3), maxIterations: 30,
        thresholds: Benchmark.defaultConfiguration.thresholds)) { benchmark in
        for _ in benchmark.scaledIterations {
            var sim = Simulation()
            sim.recordsEvents = false
            sim.startServer(name: "hub", id: 1, info: "")
            for i in 0..<300 { sim.startClient(name: "c\(i)", id: UInt32(1_000 + i), info: "", server: "hub") }
            sim.settle()
            blackHole(sim.delivered)
        }
    }
}
