import PGEngine
import Testing
@testable import PGKernel

/// What the conformance workloads do not reach: unmaps of part of a block
/// (split once, split twice, several pieces, a whole-table unmap after a
/// split) and the stage-2 configurations whose root 6.12 concatenates
/// differently from mainline, run through the real 6.12 io-pgtable-arm.c
/// and through the engine's 6.12 profile with the same calls.
@Suite("Kernel 6.12 profile conformance", .serialized)
struct KernelProfileConformanceTests {
    static let rw: Prot = [.read, .write]

    /// Partial-block unmaps at every level a block exists for `granule`, then an unmap of a hole and the teardown.
    static func splits(_ granule: Granule) -> [Call] {
        let page = granule.bytes
        let bpl = UInt64(granule.shift - 3)
        let block = page << bpl                 // 2M, 32M, 512M
        let big = block << bpl                  // 1G, 64G, 4T (4K only is mapped)
        var calls: [Call] = [
            .mapPages(iova: block, paddr: 0x4000_0000 + block, pgsize: block, pgcount: 1, prot: rw),
            .unmapPages(iova: block + page, pgsize: page, pgcount: 1),
            .unmapPages(iova: block + block - page, pgsize: page, pgcount: 3),
            .unmapPages(iova: block + page, pgsize: page, pgcount: 1),
            Call(kind: .iovaToPhys, iova: block + 2 * page),
            .mapPages(iova: 4 * block, paddr: 0x8000_0000, pgsize: block, pgcount: 2, prot: [.read]),
            .unmapPages(iova: 4 * block + 7 * page, pgsize: page, pgcount: 2),
            Call(kind: .iotlbSync),
        ]
        if granule == .size4K {
            calls += [
                .mapPages(iova: big, paddr: 0x1_0000_0000, pgsize: big, pgcount: 1, prot: rw),
                .unmapPages(iova: big + 5 * page, pgsize: page, pgcount: 1),
                .unmapPages(iova: big + 3 * block, pgsize: block, pgcount: 2),
                .unmapPages(iova: big, pgsize: block, pgcount: 1),
                .mapPages(iova: 2 * big, paddr: 0x2_0000_0000, pgsize: big, pgcount: 1, prot: rw),
                .unmapPages(iova: 2 * big + block, pgsize: block, pgcount: 600),
            ]
        }
        calls += [
            .unmapPages(iova: 64 * block, pgsize: page, pgcount: 1),
            Call(kind: .iotlbSync),
            Call(kind: .freeTables),
        ]
        return calls
    }

    /// Maps and unmaps across the root of a stage-2 table (its first and last root entries).
    static func rootWalk(ias: Int, granule: Granule) -> [Call] {
        let page = granule.bytes
        let top = (UInt64(1) << UInt64(ias)) - page
        return [
            .mapPages(iova: 0, paddr: 0x4000_0000, pgsize: page, pgcount: 2, prot: rw),
            .mapPages(iova: top, paddr: 0x5000_0000, pgsize: page, pgcount: 1, prot: rw),
            Call(kind: .iovaToPhys, iova: top),
            .unmapPages(iova: 0, pgsize: page, pgcount: 2),
            .unmapPages(iova: top, pgsize: page, pgcount: 1),
            .unmapPages(iova: top, pgsize: page, pgcount: 1),
            Call(kind: .iotlbSync),
            Call(kind: .freeTables),
        ]
    }

    static let splitConfigs: [PageTableConfig] = [
        PageTableConfig(stage: .one, granule: .size4K, ias: 48, oas: 48, profile: .v6_12),
        PageTableConfig(stage: .one, granule: .size4K, ias: 48, oas: 48, coherentWalk: true, profile: .v6_12),
        PageTableConfig(stage: .two, granule: .size4K, ias: 40, oas: 48, profile: .v6_12),
        PageTableConfig(stage: .one, granule: .size16K, ias: 48, oas: 48, profile: .v6_12),
        PageTableConfig(stage: .one, granule: .size64K, ias: 48, oas: 48, profile: .v6_12),
    ]

    /// Stage-2 configurations where 6.12's root differs from mainline's, and one where both concatenate.
    static let concatConfigs: [PageTableConfig] = [
        PageTableConfig(stage: .two, granule: .size4K, ias: 40, oas: 48, profile: .v6_12),
        PageTableConfig(stage: .two, granule: .size4K, ias: 42, oas: 44, profile: .v6_12),
        PageTableConfig(stage: .two, granule: .size4K, ias: 44, oas: 40, profile: .v6_12),
        PageTableConfig(stage: .two, granule: .size4K, ias: 48, oas: 42, profile: .v6_12),
        PageTableConfig(stage: .two, granule: .size16K, ias: 40, oas: 40, profile: .v6_12),
        PageTableConfig(stage: .two, granule: .size16K, ias: 42, oas: 40, profile: .v6_12),
        PageTableConfig(stage: .two, granule: .size16K, ias: 48, oas: 48, profile: .v6_12),
    ]

    /// Runs `calls` both ways, expects the same results and events, and returns how many events there were.
    static func compare(_ config: PageTableConfig, _ calls: [Call], helper binary: HelperBuild.Binary) throws -> Int {
        let engine = try IOPageTable(config: config, strategy: .eager, sink: EventLog())
        let kernel = try KernelPageTable(helper: try KernelHelper(binary: binary), config: config, sink: EventLog())
        #expect(kernel.geometry.startLevel == engine.geometry.startLevel, "\(config): start level")
        #expect(kernel.geometry.pgdBits == engine.geometry.pgdBits, "\(config): root entries")
        for call in calls {
            let want = engine.run(call)
            let got = try kernel.run(call)
            #expect(want == got, "\(config) \(call): result")
        }
        let e = engine.sink.events.map(\.payload), k = kernel.sink.events.map(\.payload)
        #expect(e.count == k.count, "\(config): events")
        if let i = (0..<min(e.count, k.count)).first(where: { e[$0] != k[$0] }) {
            Issue.record("\(config): event \(i) differs: engine \(e[i]), kernel \(k[i])")
        }
        return e.count
    }

    @Test("partial-block unmaps: the real 6.12 and the 6.12 profile write, clean, install and add pages identically",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func splitsMatchKernel() throws {
        let path = try #require(KernelTrees.v6_12, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let binary = try KernelTrees.helper(path)
        var events: [Int] = []
        for config in Self.splitConfigs {
            events.append(try Self.compare(config, Self.splits(config.granule), helper: binary))
        }
        print("6.12 splits: events per config \(events)")
        #expect(events.allSatisfy { $0 > 100 })
    }

    @Test("stage-2 roots: the real 6.12 and the 6.12 profile agree on root level, root size and every event",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func concatenationMatchesKernel() throws {
        let path = try #require(KernelTrees.v6_12, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let binary = try KernelTrees.helper(path)
        var roots: [String] = []
        for config in Self.concatConfigs {
            _ = try Self.compare(config, Self.rootWalk(ias: config.ias, granule: config.granule), helper: binary)
            let g = try config.checked()
            roots.append("L\(g.startLevel)x\(g.rootEntries)")
        }
        #expect(roots == ["L1x1024", "L1x4096", "L0x32", "L0x512", "L1x16", "L1x64", "L1x4096"])
    }
}
