import Foundation
import Testing

/// The seed's v1 patch ("iommu/io-pgtable-arm: Implement .iotlb_sync_map
/// callback") applied to a scratch copy of Debian's 6.12 tree, driven through
/// `record --kernel-source --defer-sync-pte`: `stale` finds the descriptors the
/// patch leaves uncleaned, the unpatched tree leaves none on the same calls,
/// and pgstore's `deferred` strategy (its model of the patch) agrees. The
/// patch is the user's input, never part of pgstore: `PGSTORE_SEED_PATCH`
/// names a file holding it (the mail, an mbox or a plain diff); `.ci/run`
/// sets it from the seed thread when that is beside the clone.
@Suite("the v1 patch on Debian's 6.12", .serialized)
struct KernelPatchedTreeTests {
    static let environment = ProcessInfo.processInfo.environment
    static var patchFile: String? { environment["PGSTORE_SEED_PATCH"].flatMap { $0.isEmpty ? nil : $0 } }
    /// Needs the patch, which no registry ships: without it the test is not
    /// run, also under CI=true (a clone with nothing beside it). `.ci/run`
    /// checks the suite passed whenever it found the patch beside the clone.
    static var enabled: Bool { patchFile != nil && (KernelSourceRunTests.tree612 != nil || environment["CI"] == "true") }
    static let missing: Comment = "set PGSTORE_SEED_PATCH to a file with the seed's v1 patch and PGSTORE_KERNEL_SOURCE to a 6.12 tree"

    /// The tree's files the helper builds from, copied, with the patch's
    /// io-pgtable-arm.c and io-pgtable.h hunks applied (one io-pgtable.h hunk,
    /// a comment, does not apply to 6.12 and is not needed).
    static func patchedTree(_ tree: String, patch: String) throws -> URL {
        let dir = try Binary.scratch().appendingPathComponent("linux-v1")
        for file in ["drivers/iommu/io-pgtable-arm.c", "drivers/iommu/io-pgtable.c", "drivers/iommu/io-pgtable-arm.h",
                     "include/linux/io-pgtable.h", "Makefile"] {
            let from = URL(fileURLWithPath: tree).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: from.path) else { continue }
            let to = dir.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: from, to: to)
        }
        // From the io-pgtable-arm.c diff to the mail's signature line (or the end).
        let text = try String(contentsOfFile: patch, encoding: .utf8)
        let start = try #require(text.range(of: "diff --git a/drivers/iommu/io-pgtable-arm.c"), "\(patch) holds no io-pgtable-arm.c diff")
        var body = String(text[start.lowerBound...])
        if let end = body.range(of: "\n-- \n") { body = String(body[..<end.lowerBound]) + "\n" }
        let diff = dir.appendingPathComponent("v1.patch")
        try body.write(to: diff, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["patch", "-p1", "--forward", "--no-backup-if-mismatch", "-r", "-", "-i", diff.path]
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus <= 1, "patch failed outright")
        let c = try String(contentsOf: dir.appendingPathComponent("drivers/iommu/io-pgtable-arm.c"), encoding: .utf8)
        let h = try String(contentsOf: dir.appendingPathComponent("include/linux/io-pgtable.h"), encoding: .utf8)
        #expect(c.contains("arm_lpae_iotlb_sync_map") && h.contains("defer_sync_pte;") && h.contains("(*iotlb_sync_map)"))
        return dir
    }

    static func stale(_ db: String, run: Int) throws -> [Substring] {
        let r = try Binary.run(["query", "--db", db, "--format", "csv",
                                "SELECT tbl, idx, level, iova, cpu, memory FROM stale_descriptors WHERE run = \(run) ORDER BY tbl, idx"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").dropFirst().map { $0 }
    }

    @Test("h9 (4K S1 IAS 44, 40 x 1G in one iommu_map) leaves 32 stale, h10 (4K S2 40/40, across the concatenated root) 2; unpatched none",
          .enabled(if: enabled, missing))
    func staleThroughThePatch() throws {
        let tree = try #require(KernelSourceRunTests.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let patch = try #require(Self.patchFile)
        let patched = try Self.patchedTree(tree, patch: patch).path
        let dir = try Binary.scratch()
        let cases = [("h9", "config stage=1 granule=4k ias=44 oas=48\niommu_map 0x800000000 0x1000000000 0xa00000000 rw\n", 32),
                     ("h10", "config stage=2 granule=4k ias=40 oas=40\niommu_map 0x7fffffe000 0x40000000 0x4000 rw\n", 2)]
        for (name, script, expected) in cases {
            let file = dir.appendingPathComponent("\(name).pgs"), db = dir.appendingPathComponent("\(name).pgdb").path
            try script.write(to: file, atomically: true, encoding: .utf8)
            let v1 = try Binary.run(["record", "--db", db, "--kernel-source", patched, "--defer-sync-pte", file.path],
                                    environment: KernelSourceRunTests.cache)
            #expect(v1.status == 0, "\(name): \(v1.stderr)")
            #expect(v1.stdout.contains("run 1 kernel 6.12.118+defer_sync_pte: complete") && v1.stdout.contains(" \(expected) stale findings"),
                    "\(name): \(v1.stdout)")
            let plain = try Binary.run(["record", "--db", db, "--kernel-source", tree, file.path], environment: KernelSourceRunTests.cache)
            #expect(plain.status == 0 && plain.stdout.contains("run 2 kernel 6.12.118: complete") && plain.stdout.contains(" 0 stale findings"),
                    "\(name): \(plain.stdout)\(plain.stderr)")
            let model = try Binary.run(["record", "--db", db, "--strategy", "deferred", file.path])
            #expect(model.status == 0, "\(name): \(model.stderr)")

            let found = try Binary.run(["stale", "--db", db, "1"])
            #expect(found.status == 1, "\(name): stale exit \(found.status)")
            #expect(try Binary.run(["stale", "--db", db, "2"]).status == 0)
            let kernelStale = try Self.stale(db, run: 1)
            #expect(kernelStale.count == expected, "\(name)")
            // pgstore's model of the patch leaves exactly the same descriptors stale.
            #expect(try Self.stale(db, run: 3) == kernelStale, "\(name)")
        }
    }
}
