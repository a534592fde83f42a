// swift-tools-version:6.1
// Guarded figures: in-process benchmarks of the protocol parser, the server core and the
// simulation, run with ordo-one/benchmark. A package of its own, so that the main package's
// build and tests do not carry the benchmark tooling. From this folder:
//   swift package --disable-sandbox benchmark                    # run and print
//   swift package --disable-sandbox benchmark thresholds check   # fail (exit 2) on a regression
//   swift package --disable-sandbox --allow-writing-to-package-directory benchmark thresholds update
import PackageDescription

let package = Package(
    name: "crc-bench-guard",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "crc", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CRCCoreLibrary", package: "crc"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
