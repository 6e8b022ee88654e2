// swift-tools-version: 6.1
import PackageDescription

/// libFuzzer targets, one per parser of bytes that can come from outside (docs/security.md,
/// "Hostile input"). A package of its own that depends on the main one by path, so the main
/// build never sees the sanitizer flags. Build and run with `fuzz/run.sh`, which passes them.
let fuzzSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    // libFuzzer brings `main`; the harness is only `LLVMFuzzerTestOneInput`.
    .unsafeFlags(["-parse-as-library"]),
]

/// One executable per parser, named `Fuzz<Parser>`, its source in `Sources/Fuzz<Parser>/`.
func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, swiftSettings: fuzzSettings)
}

let wire = Target.Dependency.product(name: "UnderstudyWire", package: "understudy")
let core = Target.Dependency.product(name: "UnderstudyCore", package: "understudy")
let storage = Target.Dependency.product(name: "UnderstudyStorage", package: "understudy")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")

let package = Package(
    name: "understudy-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "understudy", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [wire], swiftSettings: [.swiftLanguageMode(.v6)]),
        fuzzTarget("FuzzRESPCommand", [wire, core]),
        fuzzTarget("FuzzRESPReply", [wire, core, nioCore]),
        fuzzTarget("FuzzReplicationFrame", [wire, core, nioCore]),
        fuzzTarget("FuzzStandbyHandshake", [wire, core]),
        fuzzTarget("FuzzHandshakeAnswer", [wire, core]),
        fuzzTarget("FuzzWitnessMessage", [core]),
        fuzzTarget("FuzzWALRecord", [storage, core]),
        fuzzTarget("FuzzSnapshot", [storage, core]),
    ]
)
