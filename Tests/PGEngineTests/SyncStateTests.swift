import Testing
@testable import PGEngine
import PGSources

/// Dirty lines and stale descriptors come from one pass over the dirty lines
/// of the live tables' words. They must be what asking each descriptor and
/// each line gives, for any line size and for tables smaller than a line.
@Suite("dirty lines and stale descriptors")
struct SyncStateTests {
    static func naive(_ e: IOPageTable<NullSink>) -> (dirtyLines: Int, stale: Int) {
        guard !e.coherentWalk else { return (0, 0) }
        var lines = Set<Int>(), stale = 0
        for id in e.liveTablesInOrder() {
            let t = e.tables[id]
            for l in e.memory.line(of: t.pa)...e.memory.line(of: t.pa + t.bytes - 1) where e.memory.isDirty(line: l) { lines.insert(l) }
            for i in 0..<t.entries where e.memory.isStale(at: t.pa + UInt64(i) * 8) { stale += 1 }
        }
        return (lines.count, stale)
    }

    @Test("one pass equals asking each line and descriptor, under churn and CPU stores left uncleaned",
          arguments: [(Strategy.deferred, 64, Granule.size4K, 48), (.deferred, 32, .size4K, 48), (.deferred, 128, .size16K, 36),
                      (.eager, 64, .size64K, 42), (.batchedSG, 64, .size4K, 32)])
    func matchesNaive(_ strategy: Strategy, _ lineSize: Int, _ granule: Granule, _ ias: Int) throws {
        let config = PageTableConfig(granule: granule, ias: ias, oas: 48, lineSize: lineSize)
        let e = try IOPageTable(config: config, strategy: strategy, sink: NullSink())
        var checked = 0, sawStale = false
        var rng = SplitMix64(seed: UInt64(lineSize * ias))
        for (i, call) in ChurnWorkload(operations: 300, seed: UInt64(lineSize + ias), geometry: e.geometry).enumerated() {
            _ = e.perform(call)
            // CPU stores no clean follows, into live tables: dirty lines with stale words in them.
            let live = e.liveTablesInOrder()
            for _ in 0..<(rng.next() % 3) {
                let t = e.tables[live[Int(rng.next() % UInt64(live.count))]]
                let pa = t.pa + (rng.next() % UInt64(t.entries)) * 8
                let pte = e.memory.cpuValue(at: pa)
                // A leaf moves a page (stale); anything else is stored as it is (dirty only).
                _ = e.memory.store(DescriptorFormat.isLeaf(pte, level: t.level) ? pte ^ 0x1000 : pte, at: pa)
            }
            guard i % 7 == 0 else { continue }
            let fast = e.syncState(ofTables: e.liveTablesInOrder()), slow = Self.naive(e)
            #expect(fast == slow, "after call \(i): \(fast) vs \(slow)")
            #expect(e.dirtyLineCount() == slow.dirtyLines && e.staleEntryCount() == slow.stale)
            sawStale = sawStale || slow.stale > 0
            checked += 1
        }
        #expect(checked > 40)
        #expect(sawStale, "stale descriptors were there to count")
    }
}
