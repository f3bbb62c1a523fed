import Foundation
import PGEngine
import Testing
@testable import PGKernel

/// What a user meets when a tree or a machine is not right, and the cache.
@Suite("Kernel helper build")
struct KernelBuildTests {
    @Test("a directory without io-pgtable-arm.c is refused by name")
    func notATree() throws {
        let dir = FileManager.default.temporaryDirectory.appending(path: "pgstore-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        #expect(throws: KernelError.notAKernelTree(directory: dir.standardizedFileURL.path,
                                                   missing: "drivers/iommu/io-pgtable-arm.c")) {
            try KernelTree(path: dir.path)
        }
    }

    @Test("no C compiler is a clear error",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func noCompiler() throws {
        let tree = try KernelTree(path: try #require(KernelTrees.v6_12))
        var env = KernelTrees.buildEnvironment
        env["PGSTORE_CC"] = "/nonexistent/bin/cc"
        #expect(throws: KernelError.noCompiler(tried: "/nonexistent/bin/cc")) {
            try HelperBuild(tree: tree, environment: env)
        }
    }

    @Test("a tree that does not compile shows the compiler's first errors, its version and the supported ones",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func compileFailure() throws {
        let copy = try KernelTrees.copyOfBuildFiles(try #require(KernelTrees.v6_12))
        defer { try? FileManager.default.removeItem(at: copy) }
        let file = copy.appending(path: "drivers/iommu/io-pgtable-arm.c")
        var text = try String(contentsOf: file, encoding: .utf8)
        text += "\nint pgstore_injected_error = ;\n"
        try text.write(to: file, atomically: true, encoding: .utf8)
        let build = try HelperBuild(tree: try KernelTree(path: copy.path), environment: KernelTrees.buildEnvironment)
        do {
            _ = try build.helper()
            Issue.record("a broken tree built")
        } catch {
            guard case .compileFailed(let version, _, let errors) = error else {
                Issue.record("wrong error: \(error)")
                return
            }
            #expect(version.hasPrefix("6.12."))
            #expect(errors.first?.contains("io-pgtable-arm.c") == true)
            #expect(errors.first?.contains("error") == true)
            #expect(error.description.contains(KernelError.supportedVersions))
        }
    }

    @Test("the second build of the same inputs comes from the cache; a changed tree builds again",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func cache() throws {
        let path = try #require(KernelTrees.v6_12)
        _ = try KernelTrees.helper(path)
        let again = try KernelTrees.helper(path)
        #expect(again.cached)
        let copy = try KernelTrees.copyOfBuildFiles(path)
        defer { try? FileManager.default.removeItem(at: copy) }
        let file = copy.appending(path: "drivers/iommu/io-pgtable-arm.c")
        try (try String(contentsOf: file, encoding: .utf8) + "\n/* changed: \(UUID().uuidString) */\n").write(to: file, atomically: true, encoding: .utf8)
        let changed = try KernelTrees.helper(copy.path)
        #expect(!changed.cached)
        #expect(changed.path != again.path)
    }

    @Test("--defer-sync-pte on a tree without cfg.defer_sync_pte is refused; the strategy names the kernel",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func deferRefused() throws {
        let binary = try KernelTrees.helper(try #require(KernelTrees.v6_12))
        #expect(throws: KernelError.unsupported(feature: "cfg.defer_sync_pte (the seed's patch is not applied)",
                                                version: binary.tree.version)) {
            try KernelPageTable(helper: try KernelHelper(binary: binary), config: PageTableConfig(),
                                deferSyncPTE: true, sink: NullSink())
        }
        let table = try KernelPageTable(helper: try KernelHelper(binary: binary), config: PageTableConfig(), sink: NullSink())
        #expect(table.strategyName == "kernel \(binary.tree.version)")
    }

    /// The CPUs a `/proc/.../status` file allows (`Cpus_allowed_list: 0-3,6`).
    static func allowedCPUs(_ status: String) throws -> Set<Int> {
        let text = try String(contentsOfFile: status, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        var cpus = Set<Int>()
        for part in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let ends = part.split(separator: "-").compactMap { Int($0) }
            if let first = ends.first { cpus.formUnion(first...(ends.last ?? first)) }
        }
        return cpus
    }

    @Test("the helper runs on the driving thread's CPU, and the thread gets its CPUs back when the helper stops",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func placement() throws {
        let binary = try KernelTrees.helper(try #require(KernelTrees.v6_12))
        let before = try Self.allowedCPUs("/proc/thread-self/status")
        let helper = try KernelHelper(binary: binary)
        let helperCPUs = try Self.allowedCPUs("/proc/\(helper.pid)/status")
        let during = try Self.allowedCPUs("/proc/thread-self/status")
        if before.count > 1 {
            #expect(helperCPUs.count == 1 && during == helperCPUs && helperCPUs.isSubset(of: before), "\(before) \(helperCPUs) \(during)")
        } else {
            #expect(helperCPUs == before && during == before)
        }
        helper.stop()
        #expect(try Self.allowedCPUs("/proc/thread-self/status") == before)
    }

    @Test("protocol lines parse as documented")
    func protocolLines() {
        #expect(HelperLine("W 3 7 0x0 0x80000e43") == .write(id: 3, index: 7, old: 0, new: 0x8000_0e43))
        #expect(HelperLine("S 0 0 1") == .sync(id: 0, index: 0, count: 1))
        #expect(HelperLine("A 1 0x40001000 0x1000") == .alloc(id: 1, pa: 0x4000_1000, allocBytes: 0x1000))
        #expect(HelperLine("T walk 0x0 0x200000 0x1000") == .flushWalk(iova: 0, size: 0x20_0000, granule: 0x1000))
        #expect(HelperLine("WARN drivers/iommu/io-pgtable-arm.c:660 !pte") ==
                .warn(site: "drivers/iommu/io-pgtable-arm.c:660", condition: "!pte"))
        #expect(HelperLine("R -17 0x0") == .result(ret: -17, value: 0))
        #expect(HelperLine("Q what") == nil)
    }
}
