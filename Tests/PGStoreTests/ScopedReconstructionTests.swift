import Foundation
import GRDB
import Testing
@testable import PGEngine
import PGSources
@testable import PGStore

/// A point reconstructed through a ReadScope decodes only some table memory.
/// What the scope names must read exactly as in the whole reconstruction:
/// the tables over a window with every word of both views, the whole
/// state's dirty lines and stale descriptors, the TLB and the table records.
@Suite("scoped reconstruction")
struct ScopedReconstructionTests {
    /// Compares a windowed reconstruction of `p` with the whole one.
    static func expectSameWindow(_ store: HistoryStore, _ p: Point, _ window: ClosedRange<UInt64>) throws {
        let whole = try store.reconstruct(p).engine
        let scoped = try store.reconstruct(p, reading: ReadScope(iovaRanges: [window])).engine
        let shown = whole.liveTablesInOrder(within: window)
        #expect(scoped.liveTablesInOrder(within: window) == shown, "tables over \(window) at \(p)")
        for id in shown {
            for i in 0..<whole.tables[id].entries {
                let pa = whole.tables[id].pa + UInt64(i) * 8
                guard whole.memory.cpuValue(at: pa) == scoped.memory.cpuValue(at: pa),
                      whole.memory.deviceValue(at: pa) == scoped.memory.deviceValue(at: pa),
                      whole.memory.isStale(at: pa) == scoped.memory.isStale(at: pa) else {
                    Issue.record("entry \(i) of table \(id) at \(p): cpu \(whole.memory.cpuValue(at: pa)) / \(scoped.memory.cpuValue(at: pa))")
                    return
                }
            }
        }
        let live = whole.liveTablesInOrder()
        #expect(scoped.liveTablesInOrder() == live, "live tables at \(p)")
        #expect(scoped.syncState(ofTables: live) == whole.syncState(ofTables: live), "dirty lines and stale descriptors at \(p)")
        #expect(scoped.tables == whole.tables && scoped.tlb.leaves == whole.tlb.leaves && scoped.tlb.walks == whole.tlb.walks, "records and TLB at \(p)")
    }

    /// Windows of 2 MiB to 1 GiB around IOVAs written near `p`, and one nowhere near.
    static func windows(_ store: HistoryStore, run: Int64, near seq: Int64, _ rng: inout SplitMix64) throws -> [ClosedRange<UInt64>] {
        let iovas = try store.read { db in
            try UInt64.fetchAll(db, sql: "SELECT iova FROM writes WHERE id BETWEEN ? AND ? LIMIT 40",
                                arguments: [EventKey.id(run: run, seq: max(0, seq - 3_000)), EventKey.id(run: run, seq: seq)])
        }
        var out: [ClosedRange<UInt64>] = [0x7f_0000_0000...0x7f_001f_ffff]
        for iova in iovas.shuffled(using: &rng).prefix(2) {
            let size: UInt64 = [1 << 21, 1 << 24, 1 << 30][Int(rng.next() % 3)]
            let lo = iova & ~(size - 1)
            out.append(lo...(lo + size - 1))
        }
        return out
    }

    @Test("a window at any point of a churn with device accesses reads as the whole state does",
          arguments: [(Strategy.eager, UInt64(3)), (.deferred, 4), (.batchedSG, 5)])
    func churn(_ strategy: Strategy, _ seed: UInt64) throws {
        let (store, _, outcome) = try DiffRestoreTests.recorded(strategy: strategy, seed: seed)
        defer { store.close() }
        var rng = SplitMix64(seed: seed &* 31)
        for _ in 0..<12 {
            let p = Point(run: outcome.run, seq: Int64(rng.next() % UInt64(outcome.events + 1)))
            for w in try Self.windows(store, run: outcome.run, near: p.seq, &rng) { try Self.expectSameWindow(store, p, w) }
        }
    }

    @Test("inside one map_sg: a window, and a diff, read as the whole states do, dirty lines included",
          arguments: [Strategy.eager, .deferred, .batchedSG])
    func insideOneCall(_ strategy: Strategy) throws {
        let (store, run) = try MidCallCheckpointTests.record(strategy, every: 500, into: try Scratch.file())
        defer { store.close() }
        let events = try store.run(run).events
        var rng = SplitMix64(seed: 8)
        var dirty = 0
        for _ in 0..<10 {
            let a = Int64(rng.next() % UInt64(events + 1)), b = min(events, a + Int64(rng.next() % 1_500))
            let p = Point(run: run, seq: a)
            for w in try Self.windows(store, run: run, near: a, &rng) { try Self.expectSameWindow(store, p, w) }
            let q = Point(run: run, seq: b)
            let d = try store.diff(p, q)
            DiffInRunTests.expectSame(d, try DiffInRunTests.reference(store, p, q), "\(p) -> \(q)")
            dirty += d.dirtyLinesFrom
        }
        // Deferred leaves stay dirty until the call's sync: the counts were exercised.
        if strategy == .deferred { #expect(dirty > 0) }
    }

    @Test("the stale descriptors the checkpoints keep by page are those of the state at each checkpoint",
          arguments: [Strategy.deferred, .batchedSG, .eager])
    func stalePagesKept(_ strategy: Strategy) throws {
        let (store, run) = try MidCallCheckpointTests.record(strategy, every: 500, into: try Scratch.file())
        defer { store.close() }
        let seqs = try store.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM checkpoints WHERE run = ? ORDER BY seq", arguments: [run]) }
        #expect(seqs.count > 10)
        var staleSeen = 0
        for seq in seqs {
            var kept: StalePages?
            _ = try store.read { db in
                try Checkpoints.nearest(run: run, atOrBefore: seq, db: db, path: store.path, select: { _, _, stale in
                    kept = stale
                    return .none
                })
            }
            let engine = try store.reconstruct(Point(run: run, seq: seq)).engine
            let words = engine.tables.isEmpty ? 0 : Int((engine.memory.size) / 8)
            var expected: [Int: Int] = [:]
            for (page, count) in engine.staleWords(inPages: CheckpointPolicy.allPages(words)) where count > 0 { expected[page] = count }
            let stale = try #require(kept)
            #expect(stale.known && stale.counts == expected, "checkpoint at \(seq)")
            staleSeen += expected.values.reduce(0, +)
        }
        if strategy == .deferred { #expect(staleSeen > 1_000) }
    }

    @Test("a window in the middle of a long map_sg decodes a few tables, not the state, whatever its dirty lines",
          arguments: [Strategy.eager, .deferred])
    func decodesLittle(_ strategy: Strategy) throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        var r = RunRecording(config: .default, strategy: strategy, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        r.checkpointEvery = 2_000
        r.checkpointBytesPerEvent = 0
        let run = try r.record(into: store, steps: [.call(ScatterGatherWorkload(pages: 30_000, seed: 5).call, line: 1)]).run
        let mid = try store.run(run).events / 2
        let engine = try IOPageTable(config: .default, strategy: strategy, sink: NullSink(), blank: true)
        var chosen: (words: Int, selected: Int)?
        let scope = ReadScope(iovaRanges: [0x1_0000_0000...0x1_001f_ffff])
        _ = try store.read { db in
            try Checkpoints.nearest(run: run, atOrBefore: mid, db: db, path: store.path, select: { skeleton, words, stale in
                let s = scope.selection(skeleton: skeleton, words: words, stale: stale, events: [], engine: engine).words
                chosen = (words, s.count ?? words)
                return s
            })
        }
        let (words, selected) = try #require(chosen)
        // The window's leaf table and the three tables above it, of 512 words
        // each, out of 32 or 33 (eager's middle seq lies further into the call);
        // under deferred every line the call wrote is dirty, and none is held.
        #expect(words >= 32 * 512 && selected == 4 * 512, "\(selected) of \(words) words")
    }
}
