import Testing
@testable import PGEngine
import PGSources

@Suite("IOMMU core layer")
struct CoreLayerTests {
    @Test("iommu_pgsize picks the largest size the alignment allows and stops at the next boundary")
    func pageSizeChoice() {
        let bitmap: UInt64 = 0x4020_1000
        #expect(iommuPageSize(bitmap: bitmap, iova: 0, paddr: 0, size: 0x40_0000)! == (0x20_0000, 2))
        #expect(iommuPageSize(bitmap: bitmap, iova: 0x1000, paddr: 0x1000, size: 0x40_0000)! == (0x1000, 511))
        #expect(iommuPageSize(bitmap: bitmap, iova: 0x1000, paddr: 0x2000, size: 0x40_0000)! == (0x1000, 1024))
        #expect(iommuPageSize(bitmap: bitmap, iova: 0, paddr: 0x1000, size: 0x20_0000)! == (0x1000, 512))
        #expect(iommuPageSize(bitmap: bitmap, iova: 0x4000_0000, paddr: 0x8000_0000, size: 0x8000_0000)! == (0x4000_0000, 2))
        #expect(iommuPageSize(bitmap: bitmap, iova: 0xFFE, paddr: 0xFFE, size: 0x1002) == nil)
    }

    @Test("iommu_map unwinds what it mapped when a later step fails")
    func unwind() throws {
        let e = try IOPageTable(config: .default, sink: EventLog())
        #expect(e.mapPages(iova: 0x20_0000, paddr: 0x9000_0000, pgsize: 0x1000, pgcount: 1, prot: [.read]).ret == 0)
        let r = e.map(iova: 0x1F_E000, paddr: 0x8000_0000, size: 0x4000, prot: [.read, .write])
        #expect(r.ret == -Errno.EEXIST)
        #expect(e.iovaToPhys(0x1F_E000).value == 0)
        #expect(e.iovaToPhys(0x1F_F000).value == 0)
        #expect(e.iovaToPhys(0x20_0000).value == 0x9000_0000)
        let maps = e.sink.events.filter { if case .callBegin(let c) = $0.payload { return c.kind == .mapPages } else { return false } }
        let unmaps = e.sink.events.filter { if case .callBegin(let c) = $0.payload { return c.kind == .unmapPages } else { return false } }
        #expect(maps.count == 3)      // the first, then two steps of iommu_map
        #expect(unmaps.count == 1)    // the unwind
    }

    @Test("map_sg merges physically contiguous segments into blocks")
    func mergesSegments() throws {
        let e = try IOPageTable(config: .default, sink: EventLog())
        let segments = (0..<512).map { Segment(paddr: 0x1_0000_0000 + UInt64($0) * 0x1000, length: 0x1000) }
        let r = e.mapSG(iova: 0x4000_0000, segments: segments, prot: [.read, .write])
        #expect(r.ret == 0 && r.value == 0x20_0000)
        let calls = e.sink.events.compactMap { ev -> Call? in
            if case .callBegin(let c) = ev.payload, c.kind == .mapPages { return c } else { return nil }
        }
        #expect(calls.count == 1 && calls[0].size == 0x20_0000 && calls[0].count == 1)
    }

    @Test("batched-sg cleans each line of the list once; eager eight times")
    func batchedCleans() throws {
        let sg = ScatterGatherWorkload(pages: 4096, placement: .random, seed: 1)
        var tallies: [Strategy: CleanTally] = [:]
        for s in [Strategy.eager, .batchedSG, .deferred] {
            let e = try IOPageTable(config: .default, strategy: s, sink: CleanTally())
            #expect(e.perform(sg.call).ret == 0)
            #expect(e.staleEntries(iova: sg.iova, size: 4096 * 0x1000).isEmpty)
            tallies[s] = e.sink
        }
        // 4096 leaves fill 8 tables = 512 lines, cleaned once per page under eager.
        #expect(tallies[.eager]!.lines == 4096 + 10)
        #expect(tallies[.batchedSG]!.lines == 512 + 10)
        #expect(tallies[.deferred]!.lines == 512 + 10)
        #expect(tallies[.batchedSG]!.cleanCalls == 8 + 10)
    }

    @Test("iommu_unmap of an unmapped range: the kernel's size_t arithmetic")
    func unmapEmpty() throws {
        let e = try IOPageTable(config: .default, sink: NullSink())
        #expect(e.map(iova: 0, paddr: 0x8000_0000, size: 0x1000, prot: [.read]).ret == 0)
        // The first page unmaps; the second io-pgtable call returns -ENOENT through size_t.
        let r = e.unmap(iova: 0, size: 0x2000)
        #expect(r.value == 0x1000 &+ UInt64(bitPattern: -Errno.ENOENT))
        // WARNs on the empty entry in both io-pgtable calls, then the BUG pgstore stops at.
        #expect(e.stats.warnings == 3)
    }
}

@Suite("Cache model")
struct CacheModelTests {
    @Test("a clean reports the lines that were clean already")
    func alreadyClean() throws {
        let e = try IOPageTable(config: .default, strategy: .deferred, sink: EventLog())
        e.mapPages(iova: 0, paddr: 0x8000_0000, pgsize: 0x1000, pgcount: 16, prot: [.read, .write])
        e.iotlbSyncMap(iova: 0, size: 0x10000)
        e.iotlbSyncMap(iova: 0, size: 0x10000)
        let cleans = e.sink.events.compactMap { ev -> (Int, Int)? in
            if case .clean(_, _, _, _, let lines, let already, .descriptors) = ev.payload { return (lines, already) }
            return nil
        }
        // Three table installs, then the 16 leaves (2 lines) twice.
        #expect(cleans.suffix(2).map(\.0) == [2, 2])
        #expect(cleans.suffix(2).map(\.1) == [0, 2])
    }

    @Test("the line size changes how many lines a run touches", arguments: [32, 64, 128, 256])
    func lineSizes(_ line: Int) throws {
        let e = try IOPageTable(config: PageTableConfig(lineSize: line), strategy: .batchedSG, sink: CleanTally())
        let sg = ScatterGatherWorkload(pages: 512, placement: .random, seed: 5, iova: 0)
        #expect(e.perform(sg.call).ret == 0)
        #expect(e.sink.lines == 512 * 8 / line + 3)
    }

    @Test("a reused table page holds its old descriptors in memory until the allocation clean")
    func reusedPage() throws {
        let e = try IOPageTable(config: .default, sink: EventLog())
        e.mapPages(iova: 0, paddr: 0x8000_0000, pgsize: 0x1000, pgcount: 4, prot: [.read, .write])
        let leafTable = e.tables.last!
        e.unmapPages(iova: 0, pgsize: 0x20_0000, pgcount: 1)
        #expect(e.memory.deviceValue(at: leafTable.pa) == 0x0000_0000_8000_0E43)
        e.mapPages(iova: 0x1000, paddr: 0x9000_0000, pgsize: 0x1000, pgcount: 1, prot: [.read])
        let reused = e.tables.last!
        #expect(reused.pa == leafTable.pa && reused.id != leafTable.id)
        #expect(e.memory.deviceValue(at: reused.pa) == 0)
        #expect(e.staleEntryCount() == 0)
    }

    @Test("a coherent walk cleans nothing and is never stale")
    func coherent() throws {
        let e = try IOPageTable(config: PageTableConfig(coherentWalk: true), sink: EventLog())
        e.mapPages(iova: 0, paddr: 0x8000_0000, pgsize: 0x1000, pgcount: 512, prot: [.read, .write])
        #expect(e.stats.cleanCalls == 0 && e.stats.allocationCleans == 0)
        #expect(e.entry(0, of: 1) == 0x0000_0000_4000_2003)   // L1 -> L2, no SW_SYNC bit without cleans
        #expect(e.access(iova: 0x5000, write: true).pa == 0x8000_5000)
    }
}
