import Testing
@testable import PGEngine

@Suite("Geometry")
struct GeometryTests {
    struct Expectation: Sendable, CustomTestStringConvertible {
        var stage: Stage, granule: Granule, ias: Int, oas: Int
        var startLevel: Int, bitsPerLevel: Int, rootEntries: Int, concatenated: Bool
        var testDescription: String { "S\(stage.rawValue) \(granule) \(ias)/\(oas)" }
    }

    // Values from arm_lpae_alloc_pgtable's arithmetic; the ones the conformance logs show are marked.
    static let expectations: [Expectation] = [
        .init(stage: .one, granule: .size4K, ias: 48, oas: 48, startLevel: 0, bitsPerLevel: 9, rootEntries: 512, concatenated: false),   // w1
        .init(stage: .one, granule: .size16K, ias: 48, oas: 48, startLevel: 0, bitsPerLevel: 11, rootEntries: 2, concatenated: false),  // w7 16k s1
        .init(stage: .two, granule: .size16K, ias: 48, oas: 48, startLevel: 1, bitsPerLevel: 11, rootEntries: 4096, concatenated: true), // w7 16k s2
        .init(stage: .one, granule: .size64K, ias: 48, oas: 48, startLevel: 1, bitsPerLevel: 13, rootEntries: 64, concatenated: false),  // w7 64k
        .init(stage: .two, granule: .size4K, ias: 40, oas: 40, startLevel: 1, bitsPerLevel: 9, rootEntries: 1024, concatenated: true),   // spec
        .init(stage: .two, granule: .size4K, ias: 42, oas: 42, startLevel: 1, bitsPerLevel: 9, rootEntries: 4096, concatenated: true),
        .init(stage: .two, granule: .size4K, ias: 48, oas: 48, startLevel: 0, bitsPerLevel: 9, rootEntries: 512, concatenated: false),
        .init(stage: .two, granule: .size16K, ias: 40, oas: 40, startLevel: 2, bitsPerLevel: 11, rootEntries: 32768, concatenated: true),
        .init(stage: .one, granule: .size4K, ias: 32, oas: 32, startLevel: 1, bitsPerLevel: 9, rootEntries: 4, concatenated: false),
        .init(stage: .one, granule: .size4K, ias: 40, oas: 48, startLevel: 0, bitsPerLevel: 9, rootEntries: 2, concatenated: false),
        .init(stage: .one, granule: .size64K, ias: 52, oas: 52, startLevel: 1, bitsPerLevel: 13, rootEntries: 1024, concatenated: false),
        .init(stage: .one, granule: .size64K, ias: 32, oas: 32, startLevel: 2, bitsPerLevel: 13, rootEntries: 8, concatenated: false),
    ]

    @Test("start level, bits per level, root entries and concatenation", arguments: expectations)
    func shape(_ e: Expectation) throws {
        let g = try Geometry(PageTableConfig(stage: e.stage, granule: e.granule, ias: e.ias, oas: e.oas))
        #expect(g.startLevel == e.startLevel)
        #expect(g.bitsPerLevel == e.bitsPerLevel)
        #expect(g.rootEntries == e.rootEntries)
        #expect(g.concatenated == e.concatenated)
    }

    @Test("page sizes per granule, clamped addresses")
    func pageSizes() throws {
        #expect(try Geometry(PageTableConfig(granule: .size4K)).pgsizeBitmap == 0x4020_1000)
        #expect(try Geometry(PageTableConfig(granule: .size16K)).pgsizeBitmap == 0x200_4000)
        #expect(try Geometry(PageTableConfig(granule: .size64K)).pgsizeBitmap == 0x2001_0000)
        #expect(try Geometry(PageTableConfig(granule: .size64K, ias: 52, oas: 52)).pgsizeBitmap == 0x400_2001_0000)
        // The kernel clamps what the granule cannot express instead of refusing it.
        let clamped = try Geometry(PageTableConfig(granule: .size4K, ias: 52, oas: 52))
        #expect(clamped.ias == 48 && clamped.oas == 48)
    }

    @Test("index, shift and block size at each level")
    func arithmetic() throws {
        let g = try Geometry(.default)
        #expect(g.shift(3) == 12 && g.shift(2) == 21 && g.shift(1) == 30 && g.shift(0) == 39)
        #expect(g.blockSize(2) == 0x20_0000 && g.blockSize(1) == 0x4000_0000)
        #expect(g.index(of: 0x40_1234_5000, level: 0) == 0)
        #expect(g.index(of: 0x40_1234_5000, level: 1) == 256)
        #expect(g.index(of: 0x40_1234_5000, level: 2) == 145)
        #expect(g.index(of: 0x40_1234_5000, level: 3) == 325)
        #expect(g.maxEntries(from: 500) == 12)
        let concat = try Geometry(PageTableConfig(stage: .two, granule: .size4K, ias: 40, oas: 40))
        #expect(concat.index(of: 0x80_0000_0000, level: 1) == 512)
        #expect(concat.maxEntries(from: 512) == 512)
    }

    @Test("refuses what the kernel refuses, with a reason")
    func refusals() {
        func reason(_ c: PageTableConfig) -> String? {
            do { _ = try Geometry(c); return nil } catch { return error.reason }
        }
        #expect(reason(PageTableConfig(oas: 39))?.contains("OAS 39") == true)
        #expect(reason(PageTableConfig(stage: .two, granule: .size4K, ias: 48, oas: 40))?.contains("512 of them") == true)
        #expect(reason(PageTableConfig(ias: 12))?.contains("no index bits") == true)
        #expect(reason(PageTableConfig(ias: 0))?.contains("positive") == true)
    }
}
