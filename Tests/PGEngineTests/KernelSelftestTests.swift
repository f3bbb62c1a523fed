import Testing
@testable import PGEngine

/// The kernel's own io-pgtable-arm selftest sequence (`arm_lpae_run_tests`),
/// over every configuration it iterates: each page-size bitmap, each OAS, each
/// IAS not above it, stage 1 then stage 2, coherent walker, NO_WARN quirk.
@Suite("Kernel selftest sequence")
struct KernelSelftestTests {
    static let addressSizes = [32, 36, 40, 42, 44, 48]

    struct Case: CustomTestStringConvertible, Sendable {
        var stage: Stage
        var granule: Granule
        var ias: Int
        var oas: Int
        var testDescription: String { "S\(stage.rawValue) \(granule) ias=\(ias) oas=\(oas)" }
    }

    static let cases: [Case] = Stage.allCases.flatMap { stage in
        Granule.allCases.flatMap { granule in
            addressSizes.flatMap { oas in
                addressSizes.filter { $0 <= oas }.map { Case(stage: stage, granule: granule, ias: $0, oas: oas) }
            }
        }
    }

    @Test("63 configurations per stage")
    func configurationCount() {
        #expect(Self.cases.count == 126)
    }

    @Test("passes like the kernel", arguments: cases)
    func selftest(_ c: Case) throws {
        let config = PageTableConfig(stage: c.stage, granule: c.granule, ias: c.ias, oas: c.oas,
                                     coherentWalk: true, noWarn: true)
        let ops = try IOPageTable(config: config, strategy: .eager, sink: NullSink())
        let sizes = (0..<64).map { UInt64(1) << UInt64($0) }.filter { ops.geometry.pgsizeBitmap & $0 != 0 }
        let gig: UInt64 = 1 << 30

        // 1. Empty tables translate nothing.
        for iova: UInt64 in [42, gig + 42, 2 * gig + 42] {
            #expect(ops.iovaToPhys(iova).value == 0)
        }

        // 2. Map one page of each size (identity), refuse a second map, translate.
        var iova: UInt64 = 0
        for size in sizes {
            let r = ops.mapPages(iova: iova, paddr: iova, pgsize: size, pgcount: 1, prot: [.read, .write, .noExec, .cache])
            #expect(r.ret == 0 && r.value == size, "map \(hex(size)) at \(hex(iova))")
            let again = ops.mapPages(iova: iova, paddr: iova + size, pgsize: size, pgcount: 1, prot: [.read, .noExec])
            #expect(again.ret != 0, "second map at \(hex(iova)) must fail")
            #expect(ops.iovaToPhys(iova + 42).value == iova + 42)
            iova += gig
        }

        // 3. Unmap each, check it is gone, remap write-only.
        iova = 0
        var none = Gather()
        for size in sizes {
            #expect(ops.unmapPages(iova: iova, pgsize: size, pgcount: 1, gather: &none, gathering: false).value == size)
            #expect(ops.iovaToPhys(iova + 42).value == 0)
            #expect(ops.mapPages(iova: iova, paddr: iova, pgsize: size, pgcount: 1, prot: [.write]).ret == 0)
            #expect(ops.iovaToPhys(iova + 42).value == iova + 42)
            iova += gig
        }

        // 4. The last largest page of the IAS (corner cases of concatenated roots).
        let largest = sizes.last!
        iova = (1 << UInt64(ops.geometry.ias)) - largest
        let last = ops.mapPages(iova: iova, paddr: iova, pgsize: largest, pgcount: 1, prot: [.read, .write, .noExec, .cache])
        #expect(last.ret == 0 && last.value == largest)
        #expect(ops.unmapPages(iova: iova, pgsize: largest, pgcount: 1, gather: &none, gathering: false).value == largest)

        // 5. Free: every table allocated is freed.
        ops.freeTables()
        #expect(ops.stats.tablesFreed == ops.stats.tablesAllocated)
        #expect(ops.stats.warnings == 0)
    }
}
