// swift-tools-version: 6.1
import PackageDescription

/// One strict setting set, shared by every target.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .unsafeFlags(["-warnings-as-errors"], .when(configuration: .debug)),
]

let package = Package(
    name: "understudy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "understudy", targets: ["understudy"]),
        .library(name: "UnderstudyCore", targets: ["UnderstudyCore"]),
        .library(name: "UnderstudyWire", targets: ["UnderstudyWire"]),
        .library(name: "UnderstudyStorage", targets: ["UnderstudyStorage"]),
        .executable(name: "understudy-sim", targets: ["understudy-sim"]),
        .library(name: "UnderstudyClient", targets: ["UnderstudyClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // YAML (and JSON, its subset) config files for `--config`: see docs/operations.md,
        // "Configuration", for why Yams and not swift-configuration.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // HMAC-SHA256 and a CSPRNG for peer authentication (docs/security.md); wire and
        // shell only, never the pure core.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // TLS on the client port, replication and witness links (docs/security.md, "TLS").
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Pure core: types, command model, keyspace semantics. Standard library only.
        .target(name: "UnderstudyCore", swiftSettings: strictSettings),
        // Bytes <-> messages: RESP2 and RESP3. Size limits live here.
        .target(
            name: "UnderstudyWire",
            dependencies: [
                "UnderstudyCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // WAL segments, snapshots, recovery. Blocking file I/O; callers choose the thread.
        .target(
            name: "UnderstudyStorage",
            dependencies: [
                "UnderstudyCore",
                "CLZ4",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // fork + exec with PR_SET_PDEATHSIG for `understudy local`'s children: C, because the
        // child may run only async-signal-safe code before exec.
        .target(name: "CUnderstudyProcess"),
        // SwiftNIO shell: client listener, group commit, lifecycle.
        .target(
            name: "UnderstudyServer",
            dependencies: [
                "UnderstudyCore",
                "UnderstudyWire",
                "UnderstudyStorage",
                "UnderstudyClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // The admin HTTP port (Patroni-style health, role and switchover endpoints).
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // async/await client with discovery, redirects, retries, breakers and idempotent
        // writes. The decisions are pure values; the NIO connection and pool interpret them.
        .target(
            name: "UnderstudyClient",
            dependencies: [
                "UnderstudyCore",
                "UnderstudyWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Flags from a config file and UNDERSTUDY_* environment variables, checked against a
        // command's own ArgumentParser definition. A library so that its tests can reach it.
        .target(
            name: "UnderstudyConfiguration",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "UnderstudyConfigurationTests",
            dependencies: [
                "UnderstudyConfiguration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "understudy",
            dependencies: [
                "CUnderstudyProcess",
                "UnderstudyConfiguration",
                "UnderstudyClient",
                "UnderstudyCore",
                "UnderstudyServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Drives UnderstudyClient with concurrent callers under faults and prints what they saw
        // (tests/test_client.py).
        .executableTarget(
            name: "understudy-client-check",
            dependencies: [
                "UnderstudyClient",
                "UnderstudyCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The deterministic simulation: the real core state machines on a virtual clock and
        // a seeded network. Pure like the core: no Foundation, no clock, no system randomness.
        .target(name: "UnderstudySimulation", dependencies: ["UnderstudyCore"], swiftSettings: strictSettings),
        .executableTarget(
            name: "understudy-sim",
            dependencies: [
                "UnderstudySimulation",
                "UnderstudyCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "UnderstudySimulationTests",
            dependencies: ["UnderstudySimulation", "UnderstudyCore"],
            swiftSettings: strictSettings
        ),
        // Test support shared by the server and client test targets (not a product).
        .target(name: "UnderstudyTestKit", swiftSettings: strictSettings),
        .testTarget(name: "UnderstudyCoreTests", dependencies: ["UnderstudyCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "UnderstudyWireTests",
            dependencies: [
                "UnderstudyWire",
                "UnderstudyCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "UnderstudyStorageTests", dependencies: ["UnderstudyStorage"], swiftSettings: strictSettings),
        .testTarget(
            name: "UnderstudyServerTests",
            dependencies: [
                "UnderstudyTestKit",
                "UnderstudyServer",
                "UnderstudyCore",
                "UnderstudyWire",
                "UnderstudyStorage",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "UnderstudyClientTests",
            dependencies: [
                "UnderstudyTestKit",
                "UnderstudyClient",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                "UnderstudyCore",
                "UnderstudyWire",
                "UnderstudyServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
