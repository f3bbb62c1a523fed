import Foundation
import PGEngine
import Testing
@testable import PGKernel

/// pgstore's IOMMU core (`iommu_map`, `iommu_map_sg`, `iommu_unmap`) over the
/// kernel's own io-pgtable ops gives, event for event, what it gives over the
/// engine: the page-size split, the gather and the sync are written once.
@Suite("IOMMU core over the kernel backend", .serialized)
struct KernelCoreTests {
    /// Core calls that stay clear of where 6.12 and the engine's mainline differ
    /// (no unmap of a hole, no unmap of part of a block).
    static let calls: [Call] = [
        // 4K + 2M + 4K: iommu_pgsize picks a 2M block in the middle.
        Call(kind: .iommuMap, iova: 0x1ff000, paddr: 0x8001ff000, size: 0x202000, prot: [.read, .write]),
        // Three runs, two of them physically contiguous, crossing a leaf table.
        Call(kind: .iommuMapSG, iova: 0x5fe000, prot: [.read],
             segments: [Segment(paddr: 0x900000000, length: 0x1000), Segment(paddr: 0x900001000, length: 0x2000),
                        Segment(paddr: 0x910000000, length: 0x1000)]),
        // EEXIST in the middle: the core unwinds what it mapped.
        Call(kind: .iommuMap, iova: 0x1fe000, paddr: 0x700000000, size: 0x3000, prot: [.read]),
        Call(kind: .iovaToPhys, iova: 0x200123),
        Call(kind: .iommuUnmap, iova: 0x1ff000, size: 0x202000),
        Call(kind: .iommuUnmap, iova: 0x5fe000, size: 0x4000),
        Call(kind: .freeTables),
    ]

    @Test("iommu_map, map_sg (with EEXIST unwind) and iommu_unmap through 6.12 give the engine's eager events",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func coreOver612() throws {
        let path = try #require(KernelTrees.v6_12, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let binary = try KernelTrees.helper(path)
        for stage in [Stage.one, .two] {
            var config = PageTableConfig()
            config.stage = stage
            let engine = try IOPageTable(config: config, strategy: .eager, sink: EventLog())
            let kernel = try KernelPageTable(helper: try KernelHelper(binary: binary), config: config, sink: EventLog())
            var engineResults: [CallResult] = [], kernelResults: [CallResult] = []
            for call in Self.calls {
                engineResults.append(engine.run(call))
                kernelResults.append(try kernel.run(call))
            }
            #expect(kernelResults == engineResults, "stage \(stage)")
            #expect(kernelResults[0] == CallResult(ret: 0, value: 0x202000))
            #expect(kernelResults[1] == CallResult(ret: 0, value: 0x4000))
            #expect(kernelResults[2].ret == -Errno.EEXIST)
            #expect(kernelResults[4] == CallResult(ret: 0, value: 0x202000))
            let e = engine.sink.events, k = kernel.sink.events
            #expect(k.count == e.count, "stage \(stage)")
            if let i = (0..<min(e.count, k.count)).first(where: { e[$0] != k[$0] }) {
                Issue.record("stage \(stage): event \(i) differs: engine \(e[i]), kernel \(k[i])")
            }
            // Each core unmap ends with exactly one leaf invalidation of its gather.
            let leaves = k.filter { if case .invalidate(kind: .leaf, _, _, _) = $0.payload { true } else { false } }
            #expect(leaves.count == engine.stats.leafInvalidations)
            #expect(kernel.stats.descriptorWrites == engine.stats.descriptorWrites)
        }
    }
}
