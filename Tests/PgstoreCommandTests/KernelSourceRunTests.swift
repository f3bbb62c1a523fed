import Foundation
import Testing

/// `pgstore run --kernel-source DIR` through the real binary: the tree's own
/// io-pgtable-arm.c under pgstore's IOMMU core gives the engine's log, and
/// each way a tree can be unusable is a clear error with exit status 2.
@Suite("pgstore run --kernel-source", .serialized)
struct KernelSourceRunTests {
    static let environment = ProcessInfo.processInfo.environment
    static var tree612: String? { environment["PGSTORE_KERNEL_SOURCE"].flatMap { $0.isEmpty ? nil : $0 } }
    static var enabled: Bool { tree612 != nil || environment["CI"] == "true" }
    static let missing: Comment = "set PGSTORE_KERNEL_SOURCE to a 6.12 tree (see .ci/run) to run the kernel-source command tests"
    /// The tests' own helper cache, so they leave the user's alone.
    static let cache = ["PGSTORE_CACHE_DIR": FileManager.default.temporaryDirectory.appending(path: "pgstore-kernel-tests-cache").path]

    /// Core calls (split, map_sg across a leaf table, EEXIST unwind, unmaps), a
    /// device access and a dump: everything `run` prints, clear of the places
    /// where 6.12 and mainline differ.
    static let script = """
        config stage=1 granule=4k ias=48 oas=48
        iommu_map 0x1ff000 0x8001ff000 0x202000 rw
        map_sg 0x5fe000 r 0x900000000+0x1000 0x900001000+0x2000 0x910000000+0x1000
        iommu_map 0x1fe000 0x700000000 0x3000 r
        iova_to_phys 0x200123
        access 0x200123 r
        dump
        iommu_unmap 0x1ff000 0x202000
        map 0x0 0x80000000 4K 1 rw
        unmap 0x0 4K 1
        tlb_sync
        iommu_unmap 0x5fe000 0x4000
        """

    @Test("a script through 6.12 prints the engine's eager log, under the strategy kernel 6.12.118",
          .enabled(if: enabled, missing))
    func sameLogAsEngine() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let file = try Binary.scratch().appendingPathComponent("core.pgs")
        try Self.script.write(to: file, atomically: true, encoding: .utf8)
        let engine = try Binary.run(["run", file.path])
        let kernel = try Binary.run(["run", "--kernel-source", tree, file.path], environment: Self.cache)
        #expect(engine.status == 0, "\(engine.stderr)")
        #expect(kernel.status == 0, "\(kernel.stderr)")
        let e = engine.stdout.split(separator: "\n"), k = kernel.stdout.split(separator: "\n")
        #expect(k.first == "CONFIG strategy=kernel 6.12.118 fmt=ARM_64_LPAE_S1 pgsize_bitmap=0x40201000 ias=48 oas=48 granule=4K coherent_walk=0 defer_sync_pte=0 line=64 quirks=0x0")
        #expect(e.first?.hasPrefix("CONFIG strategy=eager ") == true)
        #expect(k.count == e.count)
        #expect(Array(k.dropFirst()) == Array(e.dropFirst()))
        #expect(kernel.stdout.contains("iommu_map iova=0x1fe000"))
        #expect(kernel.stdout.contains("ret=-17 mapped=0x0 (EEXIST)"))
        #expect(kernel.stdout.contains("STALE_AT_END 0"))
    }

    @Test("--defer-sync-pte on a tree whose io_pgtable_cfg lacks it is refused, exit 2",
          .enabled(if: enabled, missing))
    func deferSyncPTEMissing() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let file = try Binary.scratch().appendingPathComponent("m.pgs")
        try "map 0x0 0x80000000 4K 1 rw\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try Binary.run(["run", "--kernel-source", tree, "--defer-sync-pte", file.path], environment: Self.cache)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("--defer-sync-pte: kernel 6.12.118 has no cfg.defer_sync_pte in struct io_pgtable_cfg"))
    }

    @Test("--defer-sync-pte without --kernel-source is a usage error")
    func deferSyncPTEWithoutTree() throws {
        let file = try Binary.scratch().appendingPathComponent("m.pgs")
        try "map 0x0 0x80000000 4K 1 rw\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try Binary.run(["run", "--defer-sync-pte", file.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--defer-sync-pte: only with --kernel-source"))
    }

    @Test("a directory without drivers/iommu/io-pgtable-arm.c is refused by name, exit 2")
    func notAKernelTree() throws {
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("m.pgs")
        try "map 0x0 0x80000000 4K 1 rw\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try Binary.run(["run", "--kernel-source", dir.path, file.path], environment: Self.cache)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("is not a kernel tree pgstore can use: drivers/iommu/io-pgtable-arm.c is missing"))
    }

    @Test("no C compiler is a clear error, exit 2", .enabled(if: enabled, missing))
    func noCompiler() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let file = try Binary.scratch().appendingPathComponent("m.pgs")
        try "map 0x0 0x80000000 4K 1 rw\n".write(to: file, atomically: true, encoding: .utf8)
        var env = Self.cache
        env["PGSTORE_CC"] = "/nonexistent"
        let r = try Binary.run(["run", "--kernel-source", tree, file.path], environment: env)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("no C compiler: /nonexistent was not found or cannot run"))
    }

    @Test("a tree that does not compile shows the compiler's first errors, its version and the versions supported, exit 2",
          .enabled(if: enabled, missing))
    func brokenTree() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let copy = try Self.copyOfTree(tree)
        let source = copy.appendingPathComponent("drivers/iommu/io-pgtable-arm.c")
        let text = try String(contentsOf: source, encoding: .utf8)
        try (text + "\nstatic int pgstore_test_broken(void) { return undeclared_by_pgstore_test; }\n")
            .write(to: source, atomically: true, encoding: .utf8)
        let file = copy.appendingPathComponent("m.pgs")
        try "map 0x0 0x80000000 4K 1 rw\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try Binary.run(["run", "--kernel-source", copy.path, file.path], environment: Self.cache)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("kernel 6.12.118 does not compile against pgstore's shim (compiling shim/kernel-glue.c)"))
        #expect(r.stderr.contains("the shim supports 6.1, 6.12"))
        #expect(r.stderr.contains("undeclared_by_pgstore_test"))
    }
    /// A copy, in a scratch directory, of the tree files a helper build reads.
    static func copyOfTree(_ tree: String) throws -> URL {
        let copy = try Binary.scratch().appendingPathComponent("tree")
        for path in ["drivers/iommu/io-pgtable-arm.c", "drivers/iommu/io-pgtable.c", "drivers/iommu/io-pgtable-arm.h",
                     "include/linux/io-pgtable.h", "Makefile"] {
            let to = copy.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: URL(fileURLWithPath: tree).appendingPathComponent(path), to: to)
        }
        return copy
    }

    @Test("a kernel BUG_ON mid-run ends the run after the calls so far, with the site, exit 2",
          .enabled(if: enabled, missing))
    func bugOnMidRun() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let copy = try Self.copyOfTree(tree)
        // The copy's map_pages BUGs on its second page, as a patch under test might.
        let source = copy.appendingPathComponent("drivers/iommu/io-pgtable-arm.c")
        var text = try String(contentsOf: source, encoding: .utf8)
        let function = try #require(text.range(of: "static int arm_lpae_map_pages("))
        let body = try #require(text[function.upperBound...].firstIndex(of: "{"))
        text.insert(contentsOf: "\n\tBUG_ON(iova == 0x1000);", at: text.index(after: body))
        try text.write(to: source, atomically: true, encoding: .utf8)
        let file = copy.appendingPathComponent("m.pgs")
        try "map 0x0 0x80000000 4K 1 rw\nmap 0x1000 0x80001000 4K 1 rw\nmap 0x2000 0x80002000 4K 1 rw\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let r = try Binary.run(["run", "--kernel-source", copy.path, file.path], environment: Self.cache)
        #expect(r.status == 2)
        #expect(r.stdout.contains("map iova=0x0 paddr=0x80000000 pgsize=0x1000 pgcount=1 prot=rw: ret=0 mapped=0x1000"))
        #expect(!r.stdout.contains("map iova=0x2000"))
        #expect(!r.stdout.contains("STALE_AT_END"))
        #expect(r.stderr.contains("kernel BUG at drivers/iommu/io-pgtable-arm.c:"))
        #expect(r.stderr.contains(": BUG_ON(iova == 0x1000); the kernel would stop here"))
    }
}

/// `run --kernel-source DIR --format json`: the same document as the engine's, but for the strategy.
@Suite("pgstore run --kernel-source --format json")
struct KernelSourceRunJSONTests {
    @Test("the kernel's JSON equals the engine's eager JSON except config.strategy",
          .enabled(if: KernelSourceRunTests.enabled, KernelSourceRunTests.missing))
    func sameDocument() throws {
        let tree = try #require(KernelSourceRunTests.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let file = try Binary.scratch().appendingPathComponent("core.pgs")
        try KernelSourceRunTests.script.write(to: file, atomically: true, encoding: .utf8)
        let engine = try Binary.run(["run", "--format", "json", file.path])
        let kernel = try Binary.run(["run", "--format", "json", "--kernel-source", tree, file.path], environment: KernelSourceRunTests.cache)
        #expect(engine.status == 0 && kernel.status == 0, "\(engine.stderr)\(kernel.stderr)")
        var e = try #require(try JSONSerialization.jsonObject(with: Data(engine.stdout.utf8)) as? [String: Any])
        var k = try #require(try JSONSerialization.jsonObject(with: Data(kernel.stdout.utf8)) as? [String: Any])
        var ec = try #require(e["config"] as? [String: Any]), kc = try #require(k["config"] as? [String: Any])
        #expect(ec["strategy"] as? String == "eager")
        #expect(kc["strategy"] as? String == "kernel 6.12.118")
        ec["strategy"] = nil
        kc["strategy"] = nil
        e["config"] = ec
        k["config"] = kc
        #expect(NSDictionary(dictionary: e).isEqual(to: k))
        #expect((k["calls"] as? [Any])?.count == 11)
    }
}
