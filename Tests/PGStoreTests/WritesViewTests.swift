import Foundation
import GRDB
import PGEngine
import PGSources
@testable import PGStore
import Testing

/// `writes` is a view (migrations/0012): a write's level and IOVA come from
/// its table's row in `run_tables`. Under every granule and both stages,
/// concatenated stage-2 roots and a 52-bit space included, the view gives
/// each write exactly as the engine emitted it.
@Suite("the writes view")
struct WritesViewTests {
    static func configs() -> [PageTableConfig] {
        var out: [PageTableConfig] = []
        for (stage, granule, ias, oas) in [(Stage.one, Granule.size4K, 48, 48), (.one, .size16K, 47, 44), (.one, .size64K, 52, 52),
                                           (.two, .size4K, 40, 40), (.two, .size16K, 40, 40), (.two, .size64K, 48, 48)] {
            var c = PageTableConfig.default
            c.stage = stage
            c.granule = granule
            c.ias = ias
            c.oas = oas
            out.append(c)
        }
        return out
    }

    @Test("level and IOVA of every write, derived, equal the engine's", arguments: configs())
    func derivedColumns(_ config: PageTableConfig) throws {
        let geometry = try config.checked()
        var steps: [WorkloadStep] = []
        for (i, call) in ChurnWorkload(operations: 300, seed: 5, geometry: geometry).enumerated() {
            steps.append(.call(call, line: i + 1))
        }
        let sg = ScatterGatherWorkload(pages: 300, seed: 3, iova: 1 << UInt64(geometry.ias - 2))
        steps.append(.call(sg.call, line: steps.count + 1))

        // What the engine emits.
        let engine = try IOPageTable(config: config, strategy: .eager, sink: EventLog())
        for case .call(let call, _, _) in steps { _ = engine.run(call) }
        var expected: [[Int64]] = []
        for e in engine.sink.events {
            guard case .write(let table, let index, let level, let iova, let old, let new) = e.payload else { continue }
            expected.append([Int64(e.seq), Int64(e.call), Int64(table), Int64(index), Int64(level),
                             Int64(bitPattern: iova), Int64(bitPattern: old), Int64(bitPattern: new)])
        }
        #expect(expected.count > 500)
        #expect(Set(expected.map { $0[4] }).count >= 2, "writes at more than one level")

        // What the history answers.
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let r = RunRecording(config: config, strategy: .eager, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        let run = try r.record(into: store, steps: steps).run
        let stored = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, call, tbl, idx, level, iova, old, new FROM writes WHERE run = ? ORDER BY seq",
                             arguments: [run]).map { row in (0..<8).map { row[$0] as Int64 } }
        }
        #expect(stored == expected, "\(config.stage) \(config.granule) ias \(config.ias)")
        // One row per table the run allocated.
        let (tables, allocs) = try store.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM run_tables WHERE run = ?", arguments: [run]) ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM table_allocs WHERE run = ?", arguments: [run]) ?? 0)
        }
        #expect(tables == allocs && tables > 1)
    }
}
