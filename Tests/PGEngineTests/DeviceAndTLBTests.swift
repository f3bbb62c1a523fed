import Testing
@testable import PGEngine
import PGSources

@Suite("Device accesses and the TLB")
struct DeviceAndTLBTests {
    static func script(_ text: String, strategy: Strategy = .eager) throws -> IOPageTable<EventLog> {
        let script = try ScriptParser.parse(text, file: "test.pgs")
        let engine = try IOPageTable(config: script.config.applied(to: .default), strategy: strategy, sink: EventLog())
        for s in script.statements { if case .call(let c) = s.command { engine.perform(c) } }
        return engine
    }

    static func accesses(_ engine: IOPageTable<EventLog>) -> [AccessRecord] {
        engine.sink.events.compactMap { if case .access(let a) = $0.payload { return a } else { return nil } }
    }

    @Test("an unmap without invalidation leaves a stale TLB entry the device still uses")
    func staleTLBAfterUnmap() throws {
        let engine = try Self.script("""
            map 0x0 0x80000000 4K 1 rw
            access 0x123 r
            unmap 0x0 4K 1
            access 0x123 r
            tlb_sync
            access 0x123 r
            """)
        let a = Self.accesses(engine)
        #expect(a.count == 3)
        #expect(a[0].outcome == .translated && a[0].pa == 0x8000_0123 && !a[0].tlbHit && !a[0].staleTLB)
        #expect(a[1].outcome == .translated && a[1].pa == 0x8000_0123 && a[1].tlbHit && a[1].staleTLB)
        #expect(a[2].outcome == .translationFault && !a[2].tlbHit && !a[2].staleTLB)
        #expect(engine.stats.staleTLBHits == 1)
        #expect(engine.stats.leafInvalidations == 1)
    }

    @Test("under deferred, a device read before sync_map sees stale memory")
    func staleReadBeforeSyncMap() throws {
        let engine = try Self.script("""
            map 0x0 0x80000000 4K 1 rw
            access 0x0 r
            sync_map 0x0 4K
            access 0x0 r
            """, strategy: .deferred)
        let a = Self.accesses(engine)
        #expect(a[0].staleRead && a[0].outcome == .translationFault)
        #expect(a[0].staleCPUValue == 0x0000_0000_8000_0E43 && a[0].staleMemoryValue == 0)
        #expect(a[0].staleIndex == 0 && engine.tables[a[0].staleTable].level == 3)
        #expect(!a[1].staleRead && a[1].outcome == .translated && a[1].pa == 0x8000_0000)
    }

    @Test("permissions: read-only, privileged-only, stage-2 write-only")
    func permissions() throws {
        let s1 = try Self.script("""
            map 0x0 0x80000000 4K 1 r
            map 0x1000 0x80001000 4K 1 rwp
            access 0x0 w
            access 0x0 r
            access 0x1000 r
            access 0x1000 rp
            """)
        let a = Self.accesses(s1)
        #expect(a.map(\.outcome) == [.permissionFault, .translated, .permissionFault, .translated])
        let s2 = try Self.script("""
            config stage=2
            map 0x0 0x80000000 4K 1 w
            access 0x0 r
            access 0x0 w
            """)
        #expect(Self.accesses(s2).map(\.outcome) == [.permissionFault, .translated])
    }

    @Test("the gather syncs itself before taking a page of another size or a disjoint one")
    func gatherMerging() throws {
        let engine = try Self.script("""
            map 0x0 0x80000000 4K 4 rw
            map 0x200000 0x100200000 2M 1 rw
            unmap 0x0 4K 2
            unmap 0x2000 4K 1
            unmap 0x200000 2M 1
            tlb_sync
            """)
        let invalidations = engine.sink.events.compactMap { e -> (UInt64, UInt64, UInt64)? in
            if case .invalidate(.leaf, let iova, let size, let granule) = e.payload { return (iova, size, granule) }
            return nil
        }
        // 0x0-0x2fff merged (adjacent, same size); the 2M page forces a sync first.
        #expect(invalidations.count == 2)
        #expect(invalidations[0] == (0x0, 0x3000, 0x1000))
        #expect(invalidations[1] == (0x200000, 0x200000, 0x200000))
    }

    @Test("freeing a table with flush_walk also drops the walk cache")
    func walkCache() throws {
        let engine = try Self.script("""
            map 0x0 0x80000000 4K 1 rw
            access 0x0 r
            unmap 0x0 2M 1
            tlb_sync
            map 0x0 0x90000000 4K 1 rw
            access 0x0 r
            """)
        let a = Self.accesses(engine)
        #expect(a[1].outcome == .translated && a[1].pa == 0x9000_0000 && !a[1].staleTLB && !a[1].staleRead)
        #expect(engine.stats.flushWalk == 1)
    }
}
