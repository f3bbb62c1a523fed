import Foundation
import GRDB
import Testing
@testable import PGEngine
import PGSources
@testable import PGStore

@Suite("Diff and restore")
struct DiffRestoreTests {
    static func recorded(strategy: Strategy = .eager, seed: UInt64 = 3) throws -> (HistoryStore, [WorkloadStep], RunRecording.Outcome) {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        let steps = TimeTravelTests.workload(seed: seed, geometry: try Geometry(.default), every: 50)
        var r = RunRecording(config: .default, strategy: strategy, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        r.checkpointEvery = 800
        r.checkpointBytesPerEvent = 0
        let outcome = try r.record(into: store, steps: steps)
        return (store, steps, outcome)
    }

    /// The descriptors of a state by table path: the values written, with each table descriptor's child path.
    static func entries(_ e: IOPageTable<NullSink>) -> [String: [Int: String]] {
        HistoryDiff.entries(of: e, tables: nil).mapValues { t in
            t.values.mapValues { v in v.child.map { "\(hex16(v.written)) T->\($0)" } ?? hex16(v.written) }
        }
    }

    @Test("diff(A, B) applied to state(A) gives state(B); a point with itself is empty", arguments: [UInt64(3), 4])
    func diffApplies(_ seed: UInt64) throws {
        let (store, _, outcome) = try Self.recorded(seed: seed)
        defer { store.close() }
        let last = outcome.events
        var rng = SplitMix64(seed: seed)
        for _ in 0..<6 {
            var a = Int64(rng.next() % UInt64(last)), b = Int64(rng.next() % UInt64(last))
            if a > b { swap(&a, &b) }
            let pa = Point(run: outcome.run, seq: a), pb = Point(run: outcome.run, seq: b)
            let diff = try store.diff(pa, pb)
            var state = Self.entries(try store.reconstruct(pa).engine)
            for c in diff.descriptors {
                let value = c.new == 0 ? nil : (c.newChild.map { "\(hex16(c.new)) T->\($0)" } ?? hex16(c.new))
                state[c.table, default: [:]][c.index] = value
            }
            state = state.filter { !$0.value.isEmpty }
            let target = Self.entries(try store.reconstruct(pb).engine).filter { !$0.value.isEmpty }
            // Tables that became empty drop out on both sides the same way; compare the entries.
            #expect(state == target, "diff \(pa) -> \(pb) does not lead to the state at \(pb)")

            // Mapping level: every page's translation at B is A's with the changes applied.
            let ea = try store.reconstruct(pa).engine, eb = try store.reconstruct(pb).engine
            for m in diff.mappings {
                for probe in [m.iova, m.iova &+ m.size &- 0x1000] {
                    let before = ea.translate(probe)?.pa, after = eb.translate(probe)?.pa
                    switch m.kind {
                    case .mapped: #expect(before == nil && after == m.newPA! &+ (probe &- m.iova))
                    case .unmapped: #expect(after == nil && before == m.oldPA! &+ (probe &- m.iova))
                    case .remapped, .protection: #expect(after == m.newPA! &+ (probe &- m.iova))
                    }
                }
            }
            let same = try store.diff(pb, pb)
            #expect(same.isEmpty)
            #expect(same.cleanCalls == 0)
        }
    }

    @Test("restore at P, continue with the rest: the same events as the original after P")
    func restoreAndContinue() throws {
        let (store, steps, outcome) = try Self.recorded()
        defer { store.close() }
        // P: a snapshot in the middle; the rest of the workload after it.
        let names = try store.snapshots().map(\.name)
        let middle = names[names.count / 2]
        let p = try store.resolve(middle)
        let cut = steps.firstIndex { if case .snapshot(let n, _) = $0 { return n == middle } else { return false } }!
        let rest = Array(steps[(cut + 1)...]).map { step -> WorkloadStep in
            if case .snapshot(let n, let l) = step { return .snapshot(n + "-again", line: l) } else { return step }
        }

        let otherPath = try Scratch.file()
        let other = try HistoryStore(path: otherPath, mode: .write)
        defer { other.close() }
        let restored = try store.restore(p, into: other, strategy: nil)
        let continued = try other.continueRun(restored, steps: rest, source: WorkloadSource(kind: .generator, description: "rest", sha256: "0"),
                                              pgstoreVersion: "test", batchSize: 500, lenient: false, failOnCallError: false)
        #expect(continued.status == .complete)

        let original = try store.read { db in try EventReader.events(run: outcome.run, after: p.seq, through: outcome.events, db: db, topLevelCallsOnly: false) }
        let replayed = try other.read { db in try EventReader.events(run: restored, after: 0, through: continued.events, db: db, topLevelCallsOnly: false) }
        #expect(original.count == replayed.count)
        let shifted = replayed.map { e -> Event in
            var s = e
            s.seq += UInt64(p.seq)
            if s.call != 0 { s.call += UInt64(p.seq) }
            return s
        }
        let firstDifference = zip(original, shifted).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "first difference at event \(firstDifference.map { original[$0].seq } ?? 0)")
        let info = try other.run(restored)
        #expect(info.sourceKind == .restore && info.parentSeq == p.seq)
    }

    @Test("restoring mid-call and diffing across configurations are refused")
    func refusals() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        let sg = ScatterGatherWorkload(pages: 64, seed: 1)
        for config in [PageTableConfig.default, PageTableConfig(granule: .size16K)] {
            let r = RunRecording(config: config, strategy: .eager, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                                 pgstoreVersion: "test")
            _ = try r.record(into: store, steps: [WorkloadStep.call(ScatterGatherWorkload(pages: 64, seed: 1, pageSize: config.granule.bytes).call, line: 0)])
        }
        _ = sg
        #expect { try store.restore(Point(run: 1, seq: 10), into: store, strategy: nil) } throws: { error in
            (error as? StoreError)?.message.contains("inside call") == true
        }
        #expect { try store.diff(Point(run: 1, seq: 5), Point(run: 2, seq: 5)) } throws: { error in
            (error as? StoreError)?.message.contains("different table configurations") == true
        }
    }
}
