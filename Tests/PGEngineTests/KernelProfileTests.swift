import Foundation
import PGEngine
import PGSources
import Testing

/// The 6.12 profile (`--kernel-profile 6.12`, `profile=6.12`): what it changes, exactly, and that mainline is unchanged.
@Suite("Kernel profile 6.12")
struct KernelProfileTests {
    static let rw: Prot = [.read, .write]

    static func table(_ profile: KernelProfile, coherent: Bool = false) throws -> IOPageTable<EventLog> {
        try IOPageTable(config: PageTableConfig(coherentWalk: coherent, profile: profile), sink: EventLog())
    }

    /// The events of the last top-level call.
    static func lastCall(_ t: IOPageTable<EventLog>) -> [EventPayload] {
        let events = t.sink.events.map(\.payload)
        let start = events.lastIndex { if case .callBegin = $0 { return true } else { return false } } ?? 0
        return Array(events[start...])
    }

    @Test("profile names: mainline, 6.12 and any 6.12.N; nothing else")
    func parsing() {
        #expect(KernelProfile(parsing: "mainline") == .mainline)
        #expect(KernelProfile(parsing: "6.12") == .v6_12)
        #expect(KernelProfile(parsing: "6.12.118") == .v6_12)
        #expect(KernelProfile(parsing: "6.1") == nil)
        #expect(KernelProfile(parsing: "6.120") == nil)
        #expect(KernelProfile(parsing: "6.12.") == nil)
        #expect(KernelProfile(parsing: "6.12.x") == nil)
        #expect(KernelProfile.v6_12.description == "6.12")
        #expect(PageTableConfig().profile == .mainline)
    }

    @Test("a config encoded without the profile key decodes as mainline; mainline encodes without it; 6.12 round-trips")
    func codable() throws {
        let mainline = try JSONEncoder().encode(PageTableConfig())
        #expect(!String(decoding: mainline, as: UTF8.self).contains("profile"))
        let old = #"{"stage":1,"granule":4096,"ias":48,"oas":48,"coherentWalk":false,"lineSize":64,"noWarn":false,"nonSecure":false}"#
        #expect(try JSONDecoder().decode(PageTableConfig.self, from: Data(old.utf8)) == PageTableConfig())
        let v612 = PageTableConfig(stage: .two, ias: 40, profile: .v6_12)
        let data = try JSONEncoder().encode(v612)
        #expect(String(decoding: data, as: UTF8.self).contains(#""profile":"6.12""#))
        #expect(try JSONDecoder().decode(PageTableConfig.self, from: data) == v612)
    }

    @Test("script config profile=6.12 sets the profile; no key keeps mainline")
    func scriptKey() throws {
        let s = try ScriptParser.parse("config stage=2 ias=40 profile=6.12.118\n", file: "p.pgs")
        #expect(s.config.profile == .v6_12)
        #expect(s.config.applied(to: .default).profile == .v6_12)
        #expect(s.configKeyLocations[.profile]?.column == 23)
        let plain = try ScriptParser.parse("config stage=2\n", file: "p.pgs")
        #expect(plain.config.applied(to: .default).profile == .mainline)
    }

    @Test("6.12 unmap of 4K in the middle of a 2M block: new table cleaned whole, 511 writes with one clean each, table installed, one add_page, 4K unmapped")
    func partialBlockSplit() throws {
        let t = try Self.table(.v6_12)
        #expect(t.mapPages(iova: 0x20_0000, paddr: 0x4020_0000, pgsize: 0x20_0000, pgcount: 1, prot: Self.rw).ret == 0)
        let block = t.entry(1, of: 2)
        #expect(block == 0x4020_0E41)
        let result = t.unmapPages(iova: 0x20_1000, pgsize: 0x1000, pgcount: 1)
        #expect(result == CallResult(ret: 0, value: 0x1000))
        let events = Self.lastCall(t)
        #expect(events.count == 1030)
        guard case .tableAlloc(let info) = events[1] else { Issue.record("no table allocated: \(events[1])"); return }
        #expect(info.id == 3 && info.level == 3 && info.parent == 2 && info.parentIndex == 1 && info.iovaBase == 0x20_0000)
        #expect(events[2] == .clean(table: 3, index: 0, count: 512, firstLine: 0, lines: 64, alreadyClean: 0, reason: .tableAllocation))
        var expected: [EventPayload] = []
        for i in 0..<512 where i != 1 {
            let page = 0x4020_0E43 + UInt64(i) * 0x1000
            expected.append(.write(table: 3, index: i, level: 3, iova: 0x20_0000 + UInt64(i) * 0x1000, old: 0, new: page))
            let line = i / 8
            expected.append(.clean(table: 3, index: i, count: 1, firstLine: line, lines: 1, alreadyClean: 0, reason: .descriptors))
        }
        let tablePTE = info.pa | 3
        expected += [
            .write(table: 2, index: 1, level: 2, iova: 0x20_0000, old: block, new: tablePTE),
            .clean(table: 2, index: 1, count: 1, firstLine: 0, lines: 1, alreadyClean: 0, reason: .descriptors),
            .write(table: 2, index: 1, level: 2, iova: 0x20_0000, old: tablePTE, new: tablePTE | 1 << 55),
            .addPage(iova: 0x20_1000, granule: 0x1000),
            .callEnd(.unmapPages, result),
        ]
        #expect(Array(events[3...]) == expected)
        #expect(t.iovaToPhys(0x20_2345).value == 0x4020_2345)
        #expect(t.entry(1, of: 3) == 0)
        #expect(t.stats.warnings == 0)
    }

    @Test("6.12 unmap of part of a block with a coherent walk: the same writes, no cleans")
    func partialBlockSplitCoherent() throws {
        let t = try Self.table(.v6_12, coherent: true)
        t.mapPages(iova: 0x20_0000, paddr: 0x4020_0000, pgsize: 0x20_0000, pgcount: 1, prot: Self.rw)
        #expect(t.unmapPages(iova: 0x3F_F000, pgsize: 0x1000, pgcount: 4).value == 0x1000)
        let events = Self.lastCall(t)
        #expect(events.count == 1 + 1 + 511 + 1 + 1 + 1)
        #expect(!events.contains { if case .clean = $0 { return true } else { return false } })
        #expect(events[events.count - 2] == .addPage(iova: 0x3F_F000, granule: 0x1000))
    }

    @Test("mainline unmap of part of a block is unchanged: one WARN, nothing unmapped, no writes")
    func partialBlockMainline() throws {
        let t = try Self.table(.mainline)
        t.mapPages(iova: 0x20_0000, paddr: 0x4020_0000, pgsize: 0x20_0000, pgcount: 1, prot: Self.rw)
        let result = t.unmapPages(iova: 0x20_1000, pgsize: 0x1000, pgcount: 1)
        #expect(result == CallResult(ret: 0, value: 0))
        #expect(Self.lastCall(t) == [.callBegin(.unmapPages(iova: 0x20_1000, pgsize: 0x1000, pgcount: 1)), .warn(.unmapPartialBlock),
                                     .callEnd(.unmapPages, result)])
    }

    @Test("unmap whose first entry is empty: WARN, then 0 under 6.12 and -ENOENT through size_t under mainline")
    func emptyFirstEntry() throws {
        for (profile, value) in [(KernelProfile.v6_12, UInt64(0)), (.mainline, UInt64(0xFFFF_FFFF_FFFF_FFFE))] {
            let t = try Self.table(profile)
            let result = t.unmapPages(iova: 0x1000_0000, pgsize: 0x1000, pgcount: 1)
            #expect(result == CallResult(ret: 0, value: value))
            #expect(Self.lastCall(t) == [.callBegin(.unmapPages(iova: 0x1000_0000, pgsize: 0x1000, pgcount: 1)), .warn(.unmapEmpty),
                                         .callEnd(.unmapPages, result)])
        }
    }

    @Test("6.12 has no NO_WARN quirk: a nowarn config is refused under it")
    func noWarnRefused() {
        #expect(throws: ConfigError(reason: "Linux 6.12 has no IO_PGTABLE_QUIRK_NO_WARN (its WARNs test selftest_running)", field: .noWarn)) {
            try PageTableConfig(noWarn: true, profile: .v6_12).checked()
        }
        #expect(throws: Never.self) { try PageTableConfig(noWarn: true).checked() }
    }

    /// Root level and entries, or "refused".
    static func root(_ config: PageTableConfig) -> String {
        guard let g = try? config.checked() else { return "refused" }
        return "L\(g.startLevel)x\(g.rootEntries)"
    }

    @Test("the 19 stage x granule x IAS x OAS combinations whose root 6.12 builds differently from mainline")
    func geometryDifferences() {
        let sizes = [32, 36, 40, 42, 44, 48, 52]
        var combinations = 0
        var differences: [String] = []
        for stage in [Stage.one, .two] {
            for granule in [Granule.size4K, .size16K, .size64K] {
                for ias in sizes {
                    for oas in sizes {
                        combinations += 1
                        let mainline = Self.root(PageTableConfig(stage: stage, granule: granule, ias: ias, oas: oas))
                        let v612 = Self.root(PageTableConfig(stage: stage, granule: granule, ias: ias, oas: oas, profile: .v6_12))
                        if mainline != v612 { differences.append("S\(stage.rawValue) \(granule) \(ias)/\(oas): \(mainline) -> \(v612)") }
                    }
                }
            }
        }
        #expect(combinations == 294)
        #expect(differences == [
            "S2 4K 40/32: L0x2 -> L1x1024", "S2 4K 40/36: L0x2 -> L1x1024", "S2 4K 40/44: L0x2 -> L1x1024",
            "S2 4K 40/48: L0x2 -> L1x1024", "S2 4K 40/52: L0x2 -> L1x1024",
            "S2 4K 42/32: L0x8 -> L1x4096", "S2 4K 42/36: L0x8 -> L1x4096", "S2 4K 42/44: L0x8 -> L1x4096",
            "S2 4K 42/48: L0x8 -> L1x4096", "S2 4K 42/52: L0x8 -> L1x4096",
            "S2 4K 44/40: refused -> L0x32", "S2 4K 44/42: refused -> L0x32",
            "S2 4K 48/40: refused -> L0x512", "S2 4K 48/42: refused -> L0x512",
            "S2 4K 52/40: refused -> L0x512", "S2 4K 52/42: refused -> L0x512",
            "S2 16K 40/40: L2x32768 -> L1x16", "S2 16K 42/40: refused -> L1x64", "S2 16K 44/40: refused -> L1x256",
        ])
    }

    @Test("4K stage 2, IAS 40, OAS 48: mainline starts at level 0 with 2 entries, 6.12 at level 1 with 1024 (8K) concatenated")
    func concatenatedRoot() throws {
        let mainline = try PageTableConfig(stage: .two, ias: 40, oas: 48).checked()
        #expect(mainline.startLevel == 0 && mainline.rootEntries == 2 && !mainline.concatenated && mainline.rootBytes == 16)
        let v612 = try PageTableConfig(stage: .two, ias: 40, oas: 48, profile: .v6_12).checked()
        #expect(v612.startLevel == 1 && v612.rootEntries == 1024 && v612.concatenated && v612.rootBytes == 0x2000)
        let both = try PageTableConfig(stage: .two, granule: .size16K, ias: 48, oas: 48, profile: .v6_12).checked()
        #expect(both.startLevel == 1 && both.rootEntries == 4096)
        #expect(try PageTableConfig(stage: .two, granule: .size16K, ias: 48, oas: 48).checked() == both)
    }
}
