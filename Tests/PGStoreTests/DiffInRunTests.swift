import Foundation
import Testing
@testable import PGEngine
import PGSources
@testable import PGStore

/// A diff inside one run reads only what the events between its points wrote
/// or freed, both sides from one engine advanced in place. It must say
/// exactly what comparing the two whole states, reconstructed apart, says.
@Suite("diff inside one run")
struct DiffInRunTests {
    /// The diff of two whole states, each reconstructed on its own.
    static func reference(_ store: HistoryStore, _ a: Point, _ b: Point) throws -> HistoryDiff {
        let ea = try store.reconstruct(a).engine, eb = try store.reconstruct(b).engine
        let from = HistoryDiff.Side(ea, tables: nil, spans: nil), to = HistoryDiff.Side(eb, tables: nil, spans: nil)
        return HistoryDiff(from: a, to: b, descriptors: HistoryDiff.descriptorChanges(from, to, geometry: ea.geometry, comparison: .written),
                           comparison: .written, mappings: HistoryDiff.mappingChanges(from.leaves, to.leaves, format: ea.format),
                           cleanCalls: nil, linesCleaned: nil, invalidations: nil, dirtyLinesFrom: from.dirtyLines, dirtyLinesTo: to.dirtyLines,
                           staleFrom: from.stale, staleTo: to.stale, format: ea.format)
    }

    static func expectSame(_ d: HistoryDiff, _ r: HistoryDiff, _ what: String) {
        #expect(d.descriptors == r.descriptors, "descriptors of \(what)")
        let firstDifference = zip(d.mappings, r.mappings).first { $0 != $1 }.map { "\($0)" } ?? "at the end"
        #expect(d.mappings == r.mappings, "mappings of \(what): \(d.mappings.count) vs \(r.mappings.count), first differing \(firstDifference)")
        #expect(d.dirtyLinesFrom == r.dirtyLinesFrom && d.dirtyLinesTo == r.dirtyLinesTo, "dirty lines of \(what)")
        #expect(d.staleFrom == r.staleFrom && d.staleTo == r.staleTo, "stale descriptors of \(what)")
    }

    @Test("churn: a diff of any two points, either way round, equals the whole-state comparison",
          arguments: [(Strategy.eager, UInt64(3)), (.deferred, 4), (.batchedSG, 5)])
    func churn(_ strategy: Strategy, _ seed: UInt64) throws {
        let (store, _, outcome) = try DiffRestoreTests.recorded(strategy: strategy, seed: seed)
        defer { store.close() }
        var rng = SplitMix64(seed: seed &* 7919)
        var changed = 0, mapped = 0
        for k in 0..<16 {
            let a = Int64(rng.next() % UInt64(outcome.events + 1))
            // Near pairs replay in place; far ones cross checkpoints.
            let gap = k % 2 == 0 ? Int64(rng.next() % 60) : Int64(rng.next() % UInt64(outcome.events + 1)) - a
            let b = min(max(a + gap, 0), outcome.events)
            for (x, y) in [(a, b), (b, a)] {
                let pa = Point(run: outcome.run, seq: x), pb = Point(run: outcome.run, seq: y)
                let d = try store.diff(pa, pb)
                Self.expectSame(d, try Self.reference(store, pa, pb), "\(pa) -> \(pb)")
                changed += d.descriptors.count
                mapped += d.mappings.count
            }
        }
        // The pairs reached real changes, not only empty diffs.
        #expect(changed > 100 && mapped > 20, "\(changed) descriptor and \(mapped) mapping changes")
    }

    @Test("inside one map_sg with checkpoints in it: the same, across table allocations")
    func insideOneCall() throws {
        let (store, run) = try MidCallCheckpointTests.record(.eager, every: 500, into: try Scratch.file())
        defer { store.close() }
        let events = try store.run(run).events
        // Pairs around each table the call allocated, and seeded ones.
        let allocs = try store.read { db in
            try Int64.fetchAll(db, sql: "SELECT id & ((1 << 40) - 1) FROM table_allocs WHERE \(EventKey.idsOfRun1)", arguments: [run])
        }
        #expect(allocs.count >= 6, "\(allocs.count) tables")
        var rng = SplitMix64(seed: 11)
        var pairs = allocs.map { (max(0, $0 - 1 - Int64(rng.next() % 700)), min(events, $0 + Int64(rng.next() % 700))) }
        for _ in 0..<6 {
            let a = Int64(rng.next() % UInt64(events - 2_000))
            pairs.append((a, a + 1 + Int64(rng.next() % 1_500)))
        }
        var allocations = 0
        for (a, b) in pairs {
            let pa = Point(run: run, seq: a), pb = Point(run: run, seq: b)
            let d = try store.diff(pa, pb)
            Self.expectSame(d, try Self.reference(store, pa, pb), "\(pa) -> \(pb)")
            allocations += d.descriptors.filter { $0.old == 0 && $0.newChild != nil }.count
        }
        #expect(allocations > 0, "some pair spans a new table's installation")
    }
}
