// swift-tools-version:6.0
import PackageDescription

/// The relay path runs on one event loop thread, and the compiler already proves exclusive access
/// statically; in release builds the dynamic re-check of class properties cost ~30% of a relaying
/// server's CPU (perf, see README), so it is turned off for the modules on that path.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "crc",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "crc-server", targets: ["crc-server"]),
        .executable(name: "crc-client", targets: ["crc-client"]),
        .executable(name: "crc-cluster", targets: ["crc-cluster"]),
        .executable(name: "crc-bench", targets: ["crc-bench"]),
        // The pure layers, for the guarded benchmarks in bench/ (a package of its own).
        .library(name: "CRCCoreLibrary", targets: ["CRCProtocol", "CRCCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // libyaml, through pkg-config (Debian: libyaml-dev).
        .systemLibrary(
            name: "CYaml",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // libedit (Debian: libedit-dev): line editing and history for people at a terminal.
        .systemLibrary(
            name: "CEditLine",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        // The line editor the client (and the cluster's console) read people's commands with.
        .target(name: "CRCLineEditor", dependencies: [
            "CEditLine", "CRCTerminal", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // Whole-line, unbuffered output to stdout/stderr, shared by every executable.
        .target(name: "CRCTerminal", dependencies: ["CSystemShims"]),
        // The few C calls Swift cannot make safely itself: posix_spawn set-up, prctl, glibc extensions.
        .target(name: "CSystemShims"),
        // Wire format: message types, encoder, incremental decoder, limits. No I/O.
        .target(
            name: "CRCProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: hotPath
        ),
        // The server's routing rules as a pure state machine: message-on-link in, actions out.
        // No sockets, clocks, threads, C shims or Foundation (scripts/check-architecture.py).
        .target(
            name: "CRCCore",
            dependencies: ["CRCProtocol"],
            swiftSettings: hotPath
        ),
        // What nodes and crc-cluster agree on: the ready line, client digests and states, the
        // server snapshot and digest, the JSON they print, and dying with the launcher.
        .target(name: "CRCContract", dependencies: ["CRCCore", "CRCProtocol", "CSystemShims"]),
        // Processes: spawning (posix_spawn), reaping, pipes, the monitor client, blocking sockets,
        // /proc. What crc-cluster, crc-bench and the tests share to run nodes.
        .target(name: "CRCProcess", dependencies: [
            "CRCContract", "CRCTerminal", "CSystemShims",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // SwiftNIO shell around CRCCore: listening, upstream link, framing, monitoring endpoint.
        .target(
            name: "CRCServer",
            dependencies: [
                "CRCCore", "CRCContract", "CRCProtocol", "CRCTerminal", "CSystemShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: hotPath
        ),
        // Client: pure client state plus a NIO connection.
        .target(
            name: "CRCClient",
            dependencies: [
                "CRCProtocol", "CRCCore", "CRCContract", "CRCTerminal", "CRCLineEditor",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The repository's topologies/ folder as Swift strings (scripts/embed-topologies.py), so the
        // installed tools carry the examples and the seed and conformance scenarios.
        .target(name: "CRCExamples"),
        // Cluster tool library: topology/scenario models and expectations (pure), supervision (effects).
        .target(
            name: "CRCCluster",
            dependencies: [
                "CYaml", "CRCProtocol", "CRCCore", "CRCContract", "CRCProcess", "CRCTerminal", "CSystemShims", "CRCExamples",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The live view: a web page of the running network (HTTP and WebSocket on SwiftNIO), and
        // the replay of past runs.
        .target(name: "CRCLive", dependencies: [
            "CRCCluster", "CRCContract", "CRCProcess",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // Exploring message orders: a scheduler on the relays' held messages, strategies (random,
        // PCT, exhaustive with partial-order reduction), shrinking a failing schedule.
        .target(name: "CRCExplore", dependencies: [
            "CRCCluster",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // Grading students' work: the course's class form hosted as a process, submissions.
        .target(name: "CRCGrading", dependencies: ["CRCCluster"]),
        .executableTarget(
            name: "crc-server",
            dependencies: [
                "CRCServer", "CRCContract",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "crc-client",
            dependencies: [
                "CRCClient", "CRCContract",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "crc-cluster",
            dependencies: [
                "CRCCluster", "CRCExplore", "CRCGrading", "CRCLive", "CRCContract", "CRCProcess", "CRCExamples", "CRCServer", "CRCClient", "CRCLineEditor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "crc-bench",
            dependencies: [
                "CRCProtocol", "CRCCore", "CRCContract", "CRCProcess",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // libFuzzer target for the frame parser and the server core: scripts/fuzz.sh builds and runs it.
        .executableTarget(
            name: "crc-fuzz",
            dependencies: [
                "CRCProtocol", "CRCCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // What the test targets share: binaries, polling with deadlines, raw connections, processes.
        .target(name: "CRCTesting", dependencies: ["CRCProcess"]),
        .testTarget(name: "CRCProtocolTests", dependencies: ["CRCProtocol"]),
        .testTarget(name: "CRCCoreTests", dependencies: ["CRCCore", "CRCContract"]),
        .testTarget(name: "CRCServerTests", dependencies: [
            "CRCServer", "CRCCore", "CRCContract", "CRCProtocol",
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CRCIntegrationTests", dependencies: [
            "CRCProcess", "CRCContract", "CRCCore", "CRCProtocol", "CRCTesting", "crc-server", "crc-client",
            "CRCCluster",  // FaultTests drives a LinkRelay directly
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The cluster tool's pure parts: topology, model, checkers, narration; no processes.
        .testTarget(name: "CRCClusterModelTests", dependencies: ["CRCCluster", "CRCExplore", "CRCContract", "CRCCore", "CRCProtocol", "CRCTesting"]),
        // crc-cluster as users run it: processes, files, browsers.
        .testTarget(name: "CRCClusterTests", dependencies: ["CRCCluster", "CRCExplore", "CRCGrading", "CRCLive", "CRCProcess", "CRCContract", "CRCTesting", "crc-cluster", "crc-server", "crc-client"]),
    ]
)
