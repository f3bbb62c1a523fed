import Testing
@testable import PGEngine
import PGSources

/// The page-size bitmap the driver passes, and what io-pgtable-arm leaves of it
/// (`arm_lpae_restrict_pgsizes`): the granule's sizes, 4T only with an OAS
/// above 48 and only when offered.
@Suite("Driver page sizes")
struct DriverPageSizesTests {
    static let fourK: UInt64 = 0x1000 | 0x20_0000 | 0x4000_0000
    static let sixteenK: UInt64 = 0x4000 | 0x200_0000
    static let sixtyFourK: UInt64 = 0x1_0000 | 0x2000_0000
    static let t4: UInt64 = 1 << 42

    enum Offer: String, Sendable { case arm_smmu_v3, with4T, without4T }

    struct Case: Sendable, CustomTestStringConvertible {
        var granule: Granule, oas: Int, offer: Offer
        var passed: UInt64, afterAlloc: UInt64
        var testDescription: String { "\(granule) oas=\(oas) \(offer.rawValue)" }
    }

    static let cases: [Case] = [
        Case(granule: .size4K, oas: 48, offer: .arm_smmu_v3, passed: 0x4020_1000, afterAlloc: 0x4020_1000),
        Case(granule: .size4K, oas: 48, offer: .with4T, passed: 0x400_4020_1000, afterAlloc: 0x4020_1000),
        Case(granule: .size4K, oas: 48, offer: .without4T, passed: 0x4020_1000, afterAlloc: 0x4020_1000),
        Case(granule: .size4K, oas: 52, offer: .arm_smmu_v3, passed: 0x400_4020_1000, afterAlloc: 0x4020_1000),
        Case(granule: .size4K, oas: 52, offer: .with4T, passed: 0x400_4020_1000, afterAlloc: 0x4020_1000),
        Case(granule: .size4K, oas: 52, offer: .without4T, passed: 0x4020_1000, afterAlloc: 0x4020_1000),
        Case(granule: .size16K, oas: 48, offer: .arm_smmu_v3, passed: 0x200_4000, afterAlloc: 0x200_4000),
        Case(granule: .size16K, oas: 48, offer: .with4T, passed: 0x400_0200_4000, afterAlloc: 0x200_4000),
        Case(granule: .size16K, oas: 48, offer: .without4T, passed: 0x200_4000, afterAlloc: 0x200_4000),
        Case(granule: .size16K, oas: 52, offer: .arm_smmu_v3, passed: 0x400_0200_4000, afterAlloc: 0x200_4000),
        Case(granule: .size16K, oas: 52, offer: .with4T, passed: 0x400_0200_4000, afterAlloc: 0x200_4000),
        Case(granule: .size16K, oas: 52, offer: .without4T, passed: 0x200_4000, afterAlloc: 0x200_4000),
        Case(granule: .size64K, oas: 48, offer: .arm_smmu_v3, passed: 0x2001_0000, afterAlloc: 0x2001_0000),
        Case(granule: .size64K, oas: 48, offer: .with4T, passed: 0x400_2001_0000, afterAlloc: 0x2001_0000),
        Case(granule: .size64K, oas: 48, offer: .without4T, passed: 0x2001_0000, afterAlloc: 0x2001_0000),
        Case(granule: .size64K, oas: 52, offer: .arm_smmu_v3, passed: 0x400_2001_0000, afterAlloc: 0x400_2001_0000),
        Case(granule: .size64K, oas: 52, offer: .with4T, passed: 0x400_2001_0000, afterAlloc: 0x400_2001_0000),
        Case(granule: .size64K, oas: 52, offer: .without4T, passed: 0x2001_0000, afterAlloc: 0x2001_0000),
    ]

    static func sizes(of granule: Granule) -> UInt64 {
        switch granule {
        case .size4K: return fourK
        case .size16K: return sixteenK
        case .size64K: return sixtyFourK
        }
    }

    @Test("the bitmap passed and after alloc, per granule, OAS and offer", arguments: cases)
    func afterAlloc(_ c: Case) throws {
        var config = PageTableConfig(granule: c.granule, ias: 48, oas: c.oas)
        switch c.offer {
        case .arm_smmu_v3: config.pgsizeBitmap = nil
        case .with4T: config.pgsizeBitmap = Self.sizes(of: c.granule) | Self.t4
        case .without4T: config.pgsizeBitmap = Self.sizes(of: c.granule)
        }
        #expect(config.driverPgsizeBitmap == c.passed)
        let engine = try IOPageTable(config: config, sink: NullSink())
        #expect(engine.geometry.pgsizeBitmap == c.afterAlloc)
        let text = TraceText(engine: engine)
        #expect(text.configLine().contains(" pgsize_bitmap=\(hex(c.passed)) "))
        #expect(text.describe(Call(kind: .allocTables), result: CallResult()).contains("cfg after alloc: pgsize_bitmap=\(hex(c.afterAlloc)) "))
    }

    @Test("an SMMU offering several granules: the granule io-pgtable picks keeps its own sizes")
    func severalGranules() throws {
        let all = Self.fourK | Self.sixteenK | Self.sixtyFourK
        #expect(try Geometry(PageTableConfig(granule: .size4K, pgsizeBitmap: all)).pgsizeBitmap == 0x4020_1000)
        #expect(try Geometry(PageTableConfig(granule: .size16K, pgsizeBitmap: all)).pgsizeBitmap == 0x200_4000)
        #expect(try Geometry(PageTableConfig(granule: .size64K, pgsizeBitmap: all)).pgsizeBitmap == 0x2001_0000)
        #expect(try Geometry(PageTableConfig(granule: .size64K, ias: 52, oas: 52, pgsizeBitmap: all | Self.t4)).pgsizeBitmap == 0x400_2001_0000)
    }

    @Test("a 4T block is mapped, translated and unmapped when offered")
    func block4T() throws {
        let engine = try IOPageTable(config: PageTableConfig(granule: .size64K, ias: 52, oas: 52), sink: EventLog())
        #expect(engine.geometry.level(forBlockSize: Self.t4) == 1)
        let map = engine.mapPages(iova: 0x400_0000_0000, paddr: 0xf_0000_0000_0000, pgsize: Self.t4, pgcount: 1, prot: [.read, .write])
        #expect(map.ret == 0 && map.value == Self.t4)
        // A level-1 block with PA bits 51:48 packed into descriptor bits 15:12.
        #expect(engine.entry(1, of: engine.root) == 0x0000_0000_0000_fe41)
        #expect(engine.tables.count == 1)
        #expect(engine.iovaToPhys(0x400_1234_5678).value == 0xf_0000_1234_5678)
        #expect(engine.iovaToPhys(0x7ff_ffff_ffff).value == 0xf_03ff_ffff_ffff)
        let unmap = engine.unmapPages(iova: 0x400_0000_0000, pgsize: Self.t4, pgcount: 1)
        #expect(unmap.value == Self.t4)
        #expect(engine.entry(1, of: engine.root) == 0)
        #expect(engine.iovaToPhys(0x400_1234_5678).value == 0)
        let addPages = engine.sink.events.compactMap { e -> UInt64? in
            if case .addPage(let iova, let granule) = e.payload, granule == Self.t4 { return iova } else { return nil }
        }
        #expect(addPages == [0x400_0000_0000])
    }

    @Test("without 4T offered, map_pages of 4T is -EINVAL and iommu_map fills a level-2 table with 512M blocks")
    func without4T() throws {
        let config = PageTableConfig(granule: .size64K, ias: 52, oas: 52, pgsizeBitmap: Self.sixtyFourK)
        let engine = try IOPageTable(config: config, sink: EventLog())
        #expect(engine.geometry.pgsizeBitmap == 0x2001_0000)
        #expect(engine.mapPages(iova: 0x400_0000_0000, paddr: 0xf_0000_0000_0000, pgsize: Self.t4, pgcount: 1, prot: [.read, .write]).ret == -Errno.EINVAL)
        let map = engine.map(iova: 0x400_0000_0000, paddr: 0xf_0000_0000_0000, size: Self.t4, prot: [.read, .write])
        #expect(map.ret == 0 && map.value == Self.t4)
        let steps = engine.sink.events.compactMap { e -> Call? in
            if case .callBegin(let c) = e.payload, c.kind == .mapPages { return c } else { return nil }
        }
        #expect(steps.count == 2)   // the refused 4T, then one step of 8192 512M blocks
        #expect(steps[1].size == 0x2000_0000 && steps[1].count == 8192)
        #expect(DescriptorFormat.isTable(engine.entry(1, of: engine.root), level: 1))
        #expect(engine.iovaToPhys(0x400_1234_5678).value == 0xf_0000_1234_5678)
    }

    @Test("a driver offering fewer sizes: 4K pages only")
    func fewerSizes() throws {
        let engine = try IOPageTable(config: PageTableConfig(pgsizeBitmap: 0x1000), sink: EventLog())
        #expect(engine.geometry.pgsizeBitmap == 0x1000 && engine.geometry.pageSizeList == "4K")
        #expect(engine.mapPages(iova: 0, paddr: 0x4000_0000, pgsize: 0x20_0000, pgcount: 1, prot: [.read]).ret == -Errno.EINVAL)
        #expect(engine.map(iova: 0, paddr: 0x4000_0000, size: 0x20_0000, prot: [.read]).value == 0x20_0000)
        let steps = engine.sink.events.compactMap { e -> Call? in
            if case .callBegin(let c) = e.payload, c.kind == .mapPages { return c } else { return nil }
        }
        #expect(steps.map(\.size) == [0x20_0000, 0x1000] && steps[1].count == 512)
    }

    @Test("io-pgtable-arm's refusals of what is left")
    func refusals() {
        func refusal(_ c: PageTableConfig) -> ConfigError? {
            do { _ = try Geometry(c); return nil } catch { return error }
        }
        let none = refusal(PageTableConfig(granule: .size64K, pgsizeBitmap: 0x20_1000))
        #expect(none == ConfigError(reason: "none of the offered page sizes 4K|2M is a size of the 64K granule (64K, 512M, 4T with an OAS above 48): "
                                    + "nothing is left once io-pgtable-arm restricts the bitmap to the granule", field: .pgsizes))
        let noGranule = refusal(PageTableConfig(granule: .size64K, ias: 52, oas: 52, pgsizeBitmap: 0x2000_0000 | Self.t4))
        #expect(noGranule == ConfigError(reason: "the offered page sizes 512M|4T lack the 64K granule's page size 64K, and io-pgtable-arm "
                                         + "refuses a bitmap without it (only 512M|4T is left after the restriction to the granule)", field: .pgsizes))
        // 4T alone at OAS 48 is dropped entirely.
        #expect(refusal(PageTableConfig(granule: .size64K, pgsizeBitmap: Self.t4))?.reason.hasPrefix("none of the offered page sizes 4T") == true)
        #expect(refusal(PageTableConfig(granule: .size4K, pgsizeBitmap: 0x20_0000))?.field == .pgsizes)
    }

    @Test("lists and masks are read exactly", arguments: [
        ("4k,2m,1g", UInt64(0x4020_1000)), ("64K|512M|4T", 0x400_2001_0000), ("0x40201000", 0x4020_1000),
        ("4096", 0x1000), ("0x4000,0x2000000", 0x200_4000), ("0x1000", 0x1000), ("4k,4k", 0x1000), ("16K", 0x4000),
    ])
    func parses(_ text: String, _ bitmap: UInt64) {
        #expect(DriverPageSizes.parse(text) == .success(bitmap))
    }

    @Test("bad values name the item", arguments: [
        ("8k", 0, "page size 8k (0x2000) is not a page or block size of the Arm LPAE format (4K, 2M, 1G with the 4K granule; "
            + "16K, 32M with the 16K granule; 64K, 512M, 4T with the 64K granule)"),
        ("4k,12k", 3, "page size 12k (0x3000) is not a power of two"),
        ("0x3000", 0, "mask 0x3000 has 8K (0x2000), which is not a page or block size of the Arm LPAE format"),
        ("0x0", 0, "mask 0x0 offers no page size"),
        ("4k,,2m", 3, "empty page size in \"4k,,2m\""),
        ("", 0, "empty page size in \"\""),
        ("4k|lots", 3, "\"lots\" is not a number"),
        ("0xfoo", 0, "\"0xfoo\" is not a number"),
        ("-4k", 0, "\"-4k\" is not a number"),
        ("0", 0, "page size 0 (0x0) is not a power of two"),
    ])
    func rejects(_ text: String, _ offset: Int, _ fragment: String) {
        guard case .failure(let e) = DriverPageSizes.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(e.offset == offset)
        #expect(e.message.hasPrefix(fragment), "\(e.message)")
    }

    @Test("the config line's pgsizes=, with the column of a bad item")
    func configLine() throws {
        let script = try ScriptParser.parse("config granule=64k oas=52 pgsizes=64k,512m\n", file: "t.pgs")
        #expect(script.config.pgsizes == 0x2001_0000)
        #expect(script.configKeyLocations[.pgsizes] == SourceLocation(file: "t.pgs", line: 1, column: 27))
        #expect(script.config.applied(to: .default).pgsizeBitmap == 0x2001_0000)
        #expect(throws: ScriptError(SourceLocation(file: "t.pgs", line: 1, column: 25), "pgsizes: page size 12k (0x3000) is not a power of two")) {
            try ScriptParser.parse("config pgsizes=4k,2m,1g,12k\n", file: "t.pgs")
        }
    }
}
