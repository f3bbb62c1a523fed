import Testing
@testable import PGEngine
import PGSources

/// `iova_to_phys` of an IOVA above the input address size answers, as the
/// kernel's does, for the aliased IOVA: `ARM_LPAE_LVL_IDX` keeps only each
/// level's index bits, so the bits at and above the IAS are never looked at.
@Suite("iova_to_phys above the IAS")
struct IovaToPhysTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var stage: Stage, granule: Granule, ias: Int, oas: Int
        /// One page (or `size`) mapped at `iova` to `paddr`.
        var iova: UInt64, paddr: UInt64 = 0x8000_0000, size: UInt64? = nil
        var query: UInt64, expected: UInt64
        var testDescription: String { "S\(stage.rawValue) \(granule) \(ias)/\(oas) iova_to_phys \(hex(query))" }
    }

    static let cases: [Case] = [
        // The example: IAS 32, the translation of 0x150c6.
        Case(stage: .one, granule: .size4K, ias: 32, oas: 48, iova: 0x15000, query: 0x1_0001_50c6, expected: 0x8000_00c6),
        Case(stage: .two, granule: .size4K, ias: 32, oas: 48, iova: 0x15000, query: 0x1_0001_50c6, expected: 0x8000_00c6),
        // Every bit above the IAS set, the last page of the input space.
        Case(stage: .one, granule: .size4K, ias: 48, oas: 48, iova: 0xffff_ffff_f000, query: 0xffff_ffff_ffff_f042, expected: 0x8000_0042),
        // A 2M block: the offset in the block comes from the aliased IOVA too.
        Case(stage: .one, granule: .size4K, ias: 32, oas: 48, iova: 0x20_0000, paddr: 0x4000_0000, size: 0x20_0000,
             query: 0x3_0030_0042, expected: 0x4010_0042),
        // Stage 2 with two concatenated level-1 roots (1024 entries).
        Case(stage: .two, granule: .size4K, ias: 40, oas: 40, iova: 0xff_ffff_f000, query: 0x1ff_ffff_f042, expected: 0x8000_0042),
        Case(stage: .one, granule: .size16K, ias: 36, oas: 48, iova: 0xf_ffff_c000, query: 0x1f_ffff_c042, expected: 0x8000_0042),
        // Stage 2, 16K, IAS 48: a 4096-entry concatenated root at level 1.
        Case(stage: .two, granule: .size16K, ias: 48, oas: 48, iova: 0xffff_ffff_c000, query: 0xabcd_ffff_ffff_c042, expected: 0x8000_0042),
        Case(stage: .two, granule: .size16K, ias: 36, oas: 40, iova: 0x4000, query: 0x10_0000_4010, expected: 0x8000_0010),
        Case(stage: .one, granule: .size64K, ias: 48, oas: 48, iova: 0xffff_ffff_0000, query: 0x1_ffff_ffff_0042, expected: 0x8000_0042),
        Case(stage: .one, granule: .size64K, ias: 52, oas: 52, iova: 0xf_ffff_ffff_0000, query: 0xfff_ffff_ffff_0042, expected: 0x8000_0042),
        Case(stage: .two, granule: .size64K, ias: 42, oas: 44, iova: 0x3ff_ffff_0000, query: 0x7ff_ffff_0042, expected: 0x8000_0042),
        Case(stage: .two, granule: .size64K, ias: 32, oas: 32, iova: 0xffff_0000, query: 0xffff_ffff_ffff_0042, expected: 0x8000_0042),
        // The top of the 64-bit space: 6.12's lookup masks it like any other
        // address (mainline's walk ends at iova + 1, which wraps to 0).
        Case(stage: .one, granule: .size4K, ias: 48, oas: 48, iova: 0xffff_ffff_f000, query: .max, expected: 0x8000_0fff),
    ]

    @Test("answers for the aliased IOVA", arguments: cases)
    func aliased(_ c: Case) throws {
        let config = PageTableConfig(stage: c.stage, granule: c.granule, ias: c.ias, oas: c.oas)
        let engine = try IOPageTable(config: config, sink: NullSink())
        let size = c.size ?? c.granule.bytes
        #expect(engine.mapPages(iova: c.iova, paddr: c.paddr, pgsize: size, pgcount: 1, prot: [.read, .write]).ret == 0)
        #expect(engine.iovaToPhys(c.query).value == c.expected)
        // The same answer as for the IOVA within the IAS.
        #expect(engine.iovaToPhys(c.query & ((1 << UInt64(c.ias)) - 1)).value == c.expected)
        // An alias of an unmapped IOVA translates nothing.
        #expect(engine.iovaToPhys(c.query ^ size).value == 0)
        // The device's walk is the SMMU's, which faults on an input address beyond T0SZ.
        #expect(engine.access(iova: c.query, write: false).outcome == .translationFault)
    }

    @Test("mapping and unmapping above the IAS stay refused (-ERANGE, nothing unmapped)")
    func mapAndUnmapRefused() throws {
        let engine = try IOPageTable(config: PageTableConfig(ias: 32), sink: NullSink())
        #expect(engine.mapPages(iova: 0x1_0001_5000, paddr: 0x8000_0000, pgsize: 0x1000, pgcount: 1, prot: [.read]).ret == -Errno.ERANGE)
        #expect(engine.mapPages(iova: 0x15000, paddr: 0x8000_0000, pgsize: 0x1000, pgcount: 1, prot: [.read]).ret == 0)
        #expect(engine.unmapPages(iova: 0x1_0001_5000, pgsize: 0x1000, pgcount: 1).value == 0)
        #expect(engine.iovaToPhys(0x1_0001_5000).value == 0x8000_0000)
    }

    @Test("the validator still stops such a script, and names the alias")
    func validatorWarns() throws {
        let script = try ScriptParser.parse("config ias=32\nmap 0x15000 0x80000000 4K 1 rw\niova_to_phys 0x1000150c6\n", file: "a.pgs")
        let geometry = try Geometry(script.config.applied(to: .default))
        #expect(throws: ScriptError(SourceLocation(file: "a.pgs", line: 3, column: 1),
                                    "iova_to_phys: IOVA range 0x1000150c6+0x1 goes beyond the 32-bit input address space (ends at 0x100000000); "
                                        + "the kernel answers for the aliased IOVA 0x150c6 (run with --kernel-errors to see it)")) {
            try ScriptValidator.validate(script, geometry: geometry)
        }
    }
}
