// swift-tools-version: 6.1
import PackageDescription

// Micro-benchmarks for Understudy's hot paths, kept in their own package so that the main
// package's `swift build` / `swift test` (and CI) never build the benchmark framework.
// Run: `swift package --allow-writing-to-package-directory benchmark` (see README.md).

/// The main package's settings, minus `-warnings-as-errors` (benchmarks build in release).
let benchmarkSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "understudy-micro-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "understudy", path: "../.."),
        // Traits: only the malloc interposer (allocation counts); the default
        // RuntimeInterposer trait would pull in a package this machine has no copy of.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // WALWriter.append / writePending, Effect record encoding, CRC32C.
        .executableTarget(
            name: "WALAppend",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "UnderstudyCore", package: "understudy"),
                .product(name: "UnderstudyStorage", package: "understudy"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/WALAppend",
            swiftSettings: benchmarkSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // RESPCommandParser.parse and ByteBuffer.writeRESPReply.
        .executableTarget(
            name: "RESPParse",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "UnderstudyCore", package: "understudy"),
                .product(name: "UnderstudyWire", package: "understudy"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/RESPParse",
            swiftSettings: benchmarkSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Keyspace.execute: GET hit, SET overwrite, SET of a new key (1 M keys loaded).
        .executableTarget(
            name: "Keyspace",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "UnderstudyCore", package: "understudy"),
            ],
            path: "Benchmarks/Keyspace",
            swiftSettings: benchmarkSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
