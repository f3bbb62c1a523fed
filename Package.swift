// swift-tools-version:6.0
import PackageDescription

// The recorder and the engine run once per event: in release builds they skip
// the run-time exclusivity checks, which cost about 6% of a recording
// (perf, docs/PERFORMANCE.md). Debug builds and the tests keep them.
let releaseSpeed: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "pgstore",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pgstore", targets: ["pgstore"]),
        .library(name: "PGEngine", targets: ["PGEngine"]),
        .library(name: "PGSources", targets: ["PGSources"]),
        .library(name: "PGKernel", targets: ["PGKernel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/JohnSundell/Plot", from: "0.14.0"),
    ],
    targets: [
        // The engine: the Arm LPAE IO page table, its cache and TLB, the sync
        // strategies, and the calls, configurations and events a workload is
        // made of. Pure Swift; imports nothing of ours.
        .target(name: "PGEngine", swiftSettings: releaseSpeed),
        // The workload sources: what turns an input into engine calls (.pgs
        // scripts, read and written back, ftrace logs, the generators and
        // check-kernel's workloads). Depends on the engine alone.
        .target(name: "PGSources", dependencies: ["PGEngine"]),
        // One process-wide SQLite setting Swift cannot make (sqlite3_config
        // is variadic): plain C99 against the system's sqlite3.h.
        .target(
            name: "PGSQLiteConfig",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        // CPU placement of the kernel helper (the affinity calls are GNU
        // extensions Swift's Glibc module does not export): plain C99.
        .target(name: "PGCPUAffinity"),
        // The store: the SQLite history (schema from migrations/, recorder,
        // reconstruction, findings). Depends on the engine.
        .target(
            name: "PGStore",
            dependencies: [
                "PGEngine",
                "PGSQLiteConfig",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: releaseSpeed,
            plugins: ["EmbedFiles"]
        ),
        // The kernel-source backend: builds a helper from a kernel tree's
        // io-pgtable-arm.c and pgstore's C shim (shim/, embedded, not compiled
        // by SwiftPM) and turns what the kernel did into engine events. Needs
        // the sources only for check-kernel, which runs their workloads
        // through both backends.
        .target(
            name: "PGKernel",
            dependencies: [
                "PGEngine",
                "PGSources",
                "PGCPUAffinity",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["shim"],
            plugins: ["EmbedFiles"]
        ),
        // Build tool: turns migrations/*.sql and the kernel shim into Swift so
        // the binary carries them.
        .executableTarget(name: "embed-files", path: "Sources/embed-files"),
        .plugin(
            name: "EmbedFiles",
            capability: .buildTool(),
            dependencies: ["embed-files"]
        ),
        .executableTarget(
            name: "pgstore",
            dependencies: [
                "PGEngine",
                "PGSources",
                "PGStore",
                "PGKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Plot", package: "Plot"),
            ]
        ),
        // Benchmarks: run through tools/bench-engine (release build).
        .executableTarget(
            name: "pgstore-bench-engine",
            dependencies: ["PGEngine", "PGSources"],
            path: "Benchmarks/EngineBench"
        ),
        .executableTarget(
            name: "pgstore-bench-timetravel",
            dependencies: ["PGEngine", "PGSources", "PGStore"],
            path: "Benchmarks/TimeTravelBench"
        ),
        .testTarget(
            name: "PGEngineTests",
            dependencies: ["PGEngine", "PGSources"]
        ),
        .testTarget(
            name: "PGSourcesTests",
            dependencies: ["PGSources", "PGEngine"]
        ),
        .testTarget(
            name: "PGKernelTests",
            dependencies: ["PGKernel", "PGEngine", "PGSources"]
        ),
        .testTarget(
            name: "PGStoreTests",
            dependencies: ["PGStore", "PGEngine", "PGSources", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Runs the built pgstore binary as a child process.
        .testTarget(
            name: "PgstoreCommandTests",
            dependencies: ["pgstore", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["Corpus"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cLanguageStandard: .c99
)
