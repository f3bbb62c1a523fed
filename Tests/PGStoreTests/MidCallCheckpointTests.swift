import Foundation
import GRDB
import PGEngine
import PGSources
@testable import PGStore
import Testing

/// Checkpoints inside one long core call: a point in the middle of a map_sg
/// of thousands of pages replays from a checkpoint near it, not from the
/// call's start, and gives the same state as a replay from the start.
@Suite("checkpoints inside a long call")
struct MidCallCheckpointTests {
    static func record(_ strategy: Strategy, every: Int64, into path: String) throws -> (HistoryStore, Int64) {
        let store = try HistoryStore(path: path, mode: .write)
        var r = RunRecording(config: .default, strategy: strategy, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        r.checkpointEvery = every
        r.checkpointBytesPerEvent = 0
        let list = ScatterGatherWorkload(pages: 3000, seed: 5)
        let steps: [WorkloadStep] = [.call(Call(kind: .mapPages, iova: 0x4000_0000, paddr: 0x9000_0000, size: 0x1000, count: 4, prot: [.read, .write]), line: 1),
                                     .call(list.call, line: 2)]
        let outcome = try r.record(into: store, steps: steps)
        return (store, outcome.run)
    }

    @Test("a point inside one map_sg reconstructs from a checkpoint inside it, equal to a replay from the start",
          arguments: [Strategy.eager, .deferred, .batchedSG])
    func insideOneCall(_ strategy: Strategy) throws {
        let (near, run) = try Self.record(strategy, every: 500, into: try Scratch.file())
        defer { near.close() }
        let (far, farRun) = try Self.record(strategy, every: 100_000_000, into: try Scratch.file())
        defer { far.close() }

        let call = try #require(try near.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, end_seq FROM calls WHERE run = ? AND kind = 7", arguments: [run])
        })
        let begin: Int64 = call["seq"], end: Int64 = call["end_seq"]
        #expect(end - begin > 8_000, "the call is long: \(end - begin) events")
        let inside = try near.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, state FROM checkpoints WHERE run = ? AND seq > ? AND seq < ? ORDER BY seq",
                             arguments: [run, begin, end])
        }
        // A checkpoint at least every 500 events (the next safe point after each 500).
        #expect(inside.count >= Int((end - begin) / 600), "\(inside.count) checkpoints inside \(end - begin) events")
        for row in inside.prefix(3) {
            // Each lists the open map_sg, so replay from it knows where it is.
            let state = try near.read { db in try Checkpoints.nearest(run: run, atOrBefore: row["seq"], db: db, path: near.path) }
            #expect(state?.seq == UInt64(row["seq"] as Int64))
            #expect(state?.openCalls == [EngineState.OpenCall(seq: UInt64(begin), kind: .iommuMapSG)])
        }
        #expect(try far.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM checkpoints WHERE run = ? AND seq > ? AND seq < ?", arguments: [farRun, begin, end])
        } == 0)

        var rng = SplitMix64(seed: 9)
        for _ in 0..<6 {
            let seq = begin + 1 + Int64(rng.next() % UInt64(end - begin - 1))
            let a = try near.reconstruct(Point(run: run, seq: seq))
            let b = try far.reconstruct(Point(run: farRun, seq: seq))
            #expect(TimeTravelTests.differences(a.engine.captureState(), b.engine.captureState()).isEmpty, "at seq \(seq)")
            #expect(a.openCalls == b.openCalls && a.openCalls.first?.kind == .iommuMapSG, "at seq \(seq)")
        }
        // After the call the two histories agree too.
        let last = try near.reconstruct(Point(run: run, seq: end))
        let lastFar = try far.reconstruct(Point(run: farRun, seq: end))
        #expect(TimeTravelTests.differences(last.engine.captureState(), lastFar.engine.captureState()).isEmpty)
        #expect(last.openCalls.isEmpty)
    }

    @Test("a point inside one long iommu_unmap reconstructs from a checkpoint inside it, equal to a replay from the start",
          arguments: [Strategy.eager, .deferred])
    func insideOneUnmap(_ strategy: Strategy) throws {
        func record(every: Int64) throws -> (HistoryStore, Int64) {
            let store = try HistoryStore(path: try Scratch.file(), mode: .write)
            var r = RunRecording(config: .default, strategy: strategy, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                                 pgstoreVersion: "test")
            r.checkpointEvery = every
            r.checkpointBytesPerEvent = 0
            let list = ScatterGatherWorkload(pages: 3000, seed: 5)
            let steps: [WorkloadStep] = [.call(list.call, line: 1),
                                         // From a page past the list's start: 511 pages up to
                                         // the first 2 MiB boundary, cleared one by one, then
                                         // whole leaf tables freed, one unmap_pages each.
                                         .call(Call(kind: .iommuUnmap, iova: list.iova + 0x1000, size: 2999 * 0x1000), line: 2)]
            return (store, try r.record(into: store, steps: steps).run)
        }
        let (near, run) = try record(every: 40)
        defer { near.close() }
        let (far, farRun) = try record(every: 100_000_000)
        defer { far.close() }
        // iommu_unmap is call kind 8 (call_kinds).
        let call = try #require(try near.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, end_seq FROM calls WHERE run = ? AND kind = 8", arguments: [run])
        })
        let begin: Int64 = call["seq"], end: Int64 = call["end_seq"]
        #expect(end - begin > 1_000, "the unmap is long: \(end - begin) events")
        let inside = try near.read { db in
            try Int64.fetchAll(db, sql: "SELECT seq FROM checkpoints WHERE run = ? AND seq > ? AND seq < ? ORDER BY seq",
                               arguments: [run, begin, end])
        }
        // Its steps are its safe points: one after the 511 pages cleared one
        // by one (each step more than 40 events), one after the tables freed
        // and the 440 pages of the last table (a table freed is a few events).
        #expect(inside.count == 2, "\(inside.count) checkpoints inside \(end - begin) events")
        for seq in inside.prefix(2) {
            let state = try near.read { db in try Checkpoints.nearest(run: run, atOrBefore: seq, db: db, path: near.path) }
            #expect(state?.openCalls == [EngineState.OpenCall(seq: UInt64(begin), kind: .iommuUnmap)])
        }
        var rng = SplitMix64(seed: 11)
        for _ in 0..<6 {
            let seq = begin + 1 + Int64(rng.next() % UInt64(end - begin - 1))
            let a = try near.reconstruct(Point(run: run, seq: seq))
            let b = try far.reconstruct(Point(run: farRun, seq: seq))
            #expect(TimeTravelTests.differences(a.engine.captureState(), b.engine.captureState()).isEmpty, "at seq \(seq)")
            #expect(a.openCalls == b.openCalls && a.openCalls.first?.kind == .iommuUnmap, "at seq \(seq)")
        }
        let last = try near.reconstruct(Point(run: run, seq: end))
        let lastFar = try far.reconstruct(Point(run: farRun, seq: end))
        #expect(TimeTravelTests.differences(last.engine.captureState(), lastFar.engine.captureState()).isEmpty)
    }

    @Test("the later point of a diff advances the earlier one's engine in place, inside a call and across checkpoints, equal to its own reconstruction",
          arguments: [Strategy.eager, .deferred])
    func continuingReconstruction(_ strategy: Strategy) throws {
        let (store, run) = try Self.record(strategy, every: 500, into: try Scratch.file())
        defer { store.close() }
        let end = try #require(try store.read { db in try Int64.fetchOne(db, sql: "SELECT events FROM runs WHERE id = ?", arguments: [run]) })
        var rng = SplitMix64(seed: 4)
        var continued = 0
        for k in 0..<12 {
            let a = 1 + Int64(rng.next() % UInt64(end - 1))
            // Half the pairs lie within one checkpoint interval, half span several.
            let b = min(end, a + Int64(rng.next() % UInt64(k % 2 == 0 ? 200 : 3_000)))
            let earlier = try store.reconstruct(Point(run: run, seq: a))
            let later = try store.reconstruct(Point(run: run, seq: b), advancing: (a, earlier.engine, earlier.openCalls))
            let direct = try store.reconstruct(Point(run: run, seq: b))
            #expect(TimeTravelTests.differences(later.engine.captureState(), direct.engine.captureState()).isEmpty, "\(a) → \(b)")
            #expect(later.openCalls == direct.openCalls, "\(a) → \(b)")
            // In place when no checkpoint lies between; from that checkpoint otherwise.
            let inPlace = try store.read({ db in try Checkpoints.nearestSeq(run: run, atOrBefore: b, db: db) ?? 0 }) <= a
            #expect((later.engine === earlier.engine) == inPlace, "\(a) → \(b)")
            if inPlace { continued += 1 }
        }
        #expect(continued >= 3, "only \(continued) pairs continued")
    }
}

