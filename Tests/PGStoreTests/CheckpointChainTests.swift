import Foundation
import GRDB
import PGEngine
import PGSources
@testable import PGStore
import Testing

/// The checkpoints a recording writes from the pages changed since the last
/// one (CheckpointPolicy): every one of them, whole or delta, inside a call
/// or between calls, loads to the state a replay from the run's start gives.
@Suite("checkpoint chains")
struct CheckpointChainTests {
    static func record(_ strategy: Strategy, config: PageTableConfig, every: Int64, budget: Double, into path: String) throws -> (HistoryStore, Int64) {
        let store = try HistoryStore(path: path, mode: .write)
        var r = RunRecording(config: config, strategy: strategy, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        r.checkpointEvery = every
        r.checkpointBytesPerEvent = budget
        let geometry = try config.checked()
        var steps: [WorkloadStep] = []
        for (i, call) in ChurnWorkload(operations: 250, seed: 31, geometry: geometry).enumerated() {
            steps.append(.call(call, line: i + 1))
            if i == 120 { steps.append(.call(ScatterGatherWorkload(pages: 1_000, seed: 2, iova: 0x7_0000_0000).call, line: i + 1)) }
        }
        let outcome = try r.record(into: store, steps: steps)
        return (store, outcome.run)
    }

    @Test("every checkpoint loads to the state a replay from the start gives",
          arguments: [(Strategy.eager, false), (.deferred, false), (.eager, true), (.batchedSG, false)])
    func everyCheckpointIsTheReplayedState(_ strategy: Strategy, _ coherent: Bool) throws {
        var config = PageTableConfig.default
        config.coherentWalk = coherent
        for budget in [0.0, 1.0] {
            let (near, run) = try Self.record(strategy, config: config, every: 250, budget: budget, into: try Scratch.file())
            defer { near.close() }
            let (far, farRun) = try Self.record(strategy, config: config, every: 1 << 40, budget: 0, into: try Scratch.file())
            defer { far.close() }
            let rows = try near.read { db in
                try Row.fetchAll(db, sql: "SELECT seq, substr(state, 5, 1) AS format FROM checkpoints WHERE run = ? ORDER BY seq", arguments: [run])
            }
            let formats = rows.map { ($0["format"] as Data).first ?? 0 }
            #expect(rows.count > 20 && formats.contains(6) && formats.contains(5), "\(rows.count) checkpoints, formats \(Set(formats))")
            // The far history has no checkpoint after its start: each point replays on from the one before.
            var previous: (seq: Int64, engine: IOPageTable<NullSink>, openCalls: [EngineState.OpenCall])?
            for row in rows {
                let seq: Int64 = row["seq"]
                let loaded = try #require(try near.read { db in try Checkpoints.nearest(run: run, atOrBefore: seq, db: db, path: near.path) })
                let replayed = try far.reconstruct(Point(run: farRun, seq: seq), advancing: previous)
                previous = (seq, replayed.engine, replayed.openCalls)
                let expected = replayed.engine.captureState(openCalls: replayed.openCalls)
                #expect(loaded.seq == UInt64(seq))
                #expect(TimeTravelTests.differences(loaded, expected).isEmpty,
                        "checkpoint at \(seq) (budget \(budget)): \(TimeTravelTests.differences(loaded, expected))")
                #expect(loaded.openCalls == expected.openCalls, "open calls at \(seq)")
            }
        }
    }
}

@Suite("restored runs' table paths")
struct RestoredPathsTests {
    @Test("a restored run names the tables it inherited from its restored state, also once a later whole state has forgotten them")
    func inheritedPathsSurviveFrees() throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let geometry = try Geometry(.default)
        let r = RunRecording(config: .default, strategy: .eager, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        let source = try r.record(into: store, steps: ChurnWorkload(operations: 300, seed: 4, geometry: geometry).map { WorkloadStep.call($0, line: 0) })
        let (_, engine, _) = try store.reconstruct(Point(run: source.run, seq: try store.run(source.run).events))
        var state = engine.captureState()
        state.seq = 0
        let live = engine.liveTablesInOrder()
        let expected = Dictionary(uniqueKeysWithValues: live.map { (Int64($0), engine.path(of: $0)) })
        #expect(live.count > 3)
        // The restored run frees every table it inherited, with whole states written on the way.
        var restored = RunRecording(config: .default, strategy: .eager, source: WorkloadSource(kind: .restore, description: "t", sha256: "0"),
                                    pgstoreVersion: "test")
        restored.initialState = state
        restored.checkpointEvery = 1
        restored.checkpointBytesPerEvent = 0
        let outcome = try restored.record(into: store, steps: [.call(Call(kind: .freeTables), line: 1)])
        // Its last checkpoint a whole state, as the policy writes one once the deltas outweigh it.
        let end = try store.run(outcome.run).events
        let last = try store.reconstruct(Point(run: outcome.run, seq: end)).engine.captureState()
        #expect(last.tables.filter { !$0.freed }.isEmpty)
        try store.write { db in try Checkpoints.write(encoded: StateCodec.encode(last), seq: UInt64(end), run: outcome.run, db: db) }
        let paths = try store.tablePaths(run: outcome.run)
        for (id, path) in expected { #expect(paths[id] == path, "table \(id)") }
    }

    @Test("a restored run that allocates tables of its own names both: the inherited ones, and the new ones under them")
    func inheritedAndAllocated() throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let r = RunRecording(config: .default, strategy: .eager, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        let first = Call(kind: .iommuMap, iova: 0x4000_0000, paddr: 0x8000_0000, size: 0x1000, prot: [.read, .write])
        let source = try r.record(into: store, steps: [.call(first, line: 1)])
        var state = try store.reconstruct(Point(run: source.run, seq: try store.run(source.run).events)).engine.captureState()
        state.seq = 0
        var restored = RunRecording(config: .default, strategy: .eager, source: WorkloadSource(kind: .restore, description: "t", sha256: "0"),
                                    pgstoreVersion: "test")
        restored.initialState = state
        // Far from the first page: new tables at levels 1 to 3 under the inherited root.
        let far = Call(kind: .iommuMap, iova: 0x80_4000_0000, paddr: 0x9000_0000, size: 0x1000, prot: [.read, .write])
        let outcome = try restored.record(into: store, steps: [.call(far, line: 1)])
        let engine = try store.reconstruct(Point(run: outcome.run, seq: try store.run(outcome.run).events)).engine
        let live = engine.liveTablesInOrder()
        #expect(live.count > state.tables.filter { !$0.freed }.count, "the run allocated tables")
        let paths = try store.tablePaths(run: outcome.run)
        for id in live { #expect(paths[Int64(id)] == engine.path(of: id), "table \(id)") }
        #expect(!paths.values.contains { $0.contains("?") })
    }
}
