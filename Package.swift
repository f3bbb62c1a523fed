// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "pgstore",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pgstore", targets: ["pgstore"]),
        .library(name: "PGEngine", targets: ["PGEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The engine: the Arm LPAE IO page table, its cache and TLB, the sync
        // strategies and the workload script. Pure Swift; imports nothing of ours.
        .target(name: "PGEngine"),
        .executableTarget(
            name: "pgstore",
            dependencies: [
                "PGEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks: run through tools/bench-engine (release build).
        .executableTarget(
            name: "pgstore-bench-engine",
            dependencies: ["PGEngine"],
            path: "Benchmarks/EngineBench"
        ),
        .testTarget(
            name: "PGEngineTests",
            dependencies: ["PGEngine"]
        ),
        // Runs the built pgstore binary as a child process.
        .testTarget(
            name: "PgstoreCommandTests",
            dependencies: ["pgstore"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
