import Foundation
import Testing

/// `pgstore check-kernel` through the real binary: Debian's 6.12 against the
/// engine's 6.12 profile with no divergence on 100 workloads; a tree that
/// differs (6.1 against the 6.12 profile) found, reported and written out
/// as scripts that rerun; bad arguments refused.
@Suite("pgstore check-kernel", .serialized)
struct CheckKernelTests {
    static let cache = KernelSourceRunTests.cache
    static let missing = KernelSourceRunTests.missing
    static var tree61: String? { ProcessInfo.processInfo.environment["PGSTORE_KERNEL_SOURCE_6_1"].flatMap { $0.isEmpty ? nil : $0 } }

    @Test("6.12: 100 seeded workloads, every event equal to the engine's 6.12 profile, exit 0",
          .enabled(if: KernelSourceRunTests.enabled, missing))
    func noDivergence() throws {
        let tree = try #require(KernelSourceRunTests.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let out = try Binary.scratch()
        let r = try Binary.run(["check-kernel", "--kernel-source", tree, "--workloads", "100", "--seed", "1", "--output", out.path],
                               environment: Self.cache)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let summary = try #require(r.stdout.split(separator: "\n").last)
        #expect(summary.hasPrefix("check-kernel: kernel 6.12.118 against pgstore's engine (profile 6.12, eager), seed 1: 100 workloads, "))
        #expect(summary.hasSuffix(" events compared, 0 divergent"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }

    @Test("6.1 against the 6.12 profile: each divergence shown with both sides, written as a .pgs that reruns; exit 1",
          .enabled(if: tree61 != nil || ProcessInfo.processInfo.environment["CI"] == "true", missing))
    func divergenceFound() throws {
        let tree = try #require(Self.tree61, "CI=true but PGSTORE_KERNEL_SOURCE_6_1 is not set")
        let out = try Binary.scratch()
        let r = try Binary.run(["check-kernel", "--kernel-source", tree, "--kernel-profile", "6.12", "--workloads", "5", "--output", out.path],
                               environment: Self.cache)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let first = try #require(lines.firstIndex { $0.hasPrefix("workload ") })
        #expect(lines[first].contains(": diverges at call "))
        #expect(lines[first + 1].hasPrefix("  engine: ") && lines[first + 2].hasPrefix("  kernel: "))
        #expect(lines[first + 1] != lines[first + 2].replacingOccurrences(of: "kernel: ", with: "engine: "))
        let written = try #require(lines[first + 3].split(separator: " ").last.map(String.init))
        #expect(lines.last?.hasSuffix("divergent") == true && lines.last?.contains("5 workloads") == true)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files.count == lines.filter { $0.hasPrefix("workload ") }.count)
        // The written workload reruns through both sides (the divergence may lie
        // in the order of writes and cleans, which the text log does not show).
        let kernel = try Binary.run(["run", "--kernel-source", tree, written], environment: Self.cache)
        let engine = try Binary.run(["run", "--kernel-errors", written])
        #expect([0, 1].contains(kernel.status) && [0, 1].contains(engine.status), "\(kernel.stderr)\(engine.stderr)")
        #expect(kernel.stdout.hasPrefix("CONFIG strategy=kernel 6.1.") && engine.stdout.hasPrefix("CONFIG strategy=eager "))
        #expect(engine.stdout.split(separator: "\n").first?.hasSuffix(" profile=6.12") == true)
    }

    @Test("--workloads 0, a missing tree, an unknown profile and --defer-sync-pte without the member are refused, exit 2")
    func refusals() throws {
        let dir = try Binary.scratch()
        let zero = try Binary.run(["check-kernel", "--kernel-source", dir.path, "--workloads", "0"])
        #expect(zero.status == 2 && zero.stderr.contains("--workloads 0: must be at least 1"), "\(zero.stderr)")
        let missing = try Binary.run(["check-kernel", "--kernel-source", dir.path], environment: Self.cache)
        #expect(missing.status == 2 && missing.stderr.contains("drivers/iommu/io-pgtable-arm.c is missing"), "\(missing.stderr)")
        if let tree = KernelSourceRunTests.tree612 {
            let bad = try Binary.run(["check-kernel", "--kernel-source", tree, "--kernel-profile", "5.4"], environment: Self.cache)
            #expect(bad.status == 2 && bad.stderr.contains("unknown kernel profile"), "\(bad.stderr)")
            let noMember = try Binary.run(["check-kernel", "--kernel-source", tree, "--defer-sync-pte"], environment: Self.cache)
            #expect(noMember.status == 2 && noMember.stderr.contains("--defer-sync-pte: kernel 6.12.118 has no cfg.defer_sync_pte"), "\(noMember.stderr)")
        }
    }
}
