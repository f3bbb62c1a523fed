import Foundation
import GRDB
import Testing
@testable import PGEngine
import PGSources
@testable import PGStore

@Suite("Time travel")
struct TimeTravelTests {
    /// A seeded workload with device accesses, snapshot steps every `every` calls.
    static func workload(seed: UInt64, geometry: Geometry, every: Int) -> [WorkloadStep] {
        var steps: [WorkloadStep] = []
        var rng = SplitMix64(seed: seed)
        for (i, call) in ChurnWorkload(operations: 400, seed: seed, geometry: geometry).enumerated() {
            steps.append(.call(call, line: i + 1))
            if rng.next() % 5 == 0 { steps.append(.call(Call(kind: .access, iova: call.iova, prot: [.read]), line: 0)) }
            if i % every == every - 1 { steps.append(.snapshot("s\(seed)-\(i)", line: i + 1)) }
        }
        return steps
    }

    static func differences(_ a: EngineState, _ b: EngineState) -> [String] {
        var out: [String] = []
        if a.seq != b.seq { out.append("seq \(a.seq) vs \(b.seq)") }
        // A whole-state checkpoint keeps freed tables as tombstones.
        if a.forgettingFreedTables.tables != b.forgettingFreedTables.tables { out.append("tables") }
        if a.cpu != b.cpu { out.append("cpu view") }
        if a.memory != b.memory { out.append("memory view") }
        if a.dirty != b.dirty { out.append("dirty lines") }
        if a.tlbLeaves != b.tlbLeaves || a.tlbWalks != b.tlbWalks { out.append("TLB") }
        if a.gather != b.gather { out.append("gather") }
        if a.allocatorNext != b.allocatorNext || a.freeLists != b.freeLists { out.append("allocator") }
        return out
    }

    @Test("the state reconstructed at every snapshot is the live state", arguments: [Strategy.eager, .deferred, .batchedSG])
    func reconstructionMatchesLive(_ strategy: Strategy) throws {
        let config = PageTableConfig.default
        let steps = Self.workload(seed: 3, geometry: try Geometry(config), every: 37)
        // Live: the states at the snapshots.
        let live = try IOPageTable(config: config, strategy: strategy, sink: NullSinkCounting())
        var expected: [String: EngineState] = [:]
        for step in steps {
            switch step {
            case .call(let c, _, _): live.perform(c)
            case .snapshot(let name, _): expected[name] = live.captureState()
            case .gap, .idle, .failure: break
            }
        }
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: config, strategy: strategy, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        r.checkpointEvery = 700
        r.checkpointBytesPerEvent = 0
        r.batchSize = 900
        _ = try r.record(into: store, steps: steps)
        let checkpoints = try store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM checkpoints")! }
        #expect(checkpoints > 3)
        #expect(expected.count > 5)
        for (name, state) in expected {
            let point = try store.resolve(name)
            #expect(point.seq == Int64(state.seq))
            let (_, engine, open) = try store.reconstruct(point)
            #expect(open.isEmpty)
            let differences = Self.differences(engine.captureState(), state)
            #expect(differences.isEmpty, "\(name): \(differences)")
        }
        // And the end of the run.
        let end = try store.reconstruct(try store.resolve("latest"))
        #expect(Self.differences(end.engine.captureState(), live.captureState()).isEmpty)
    }

    @Test("checkpoints survive their binary form")
    func codecRoundTrip() throws {
        let e = try IOPageTable(config: PageTableConfig(stage: .two, granule: .size16K), strategy: .deferred, sink: NullSink())
        for c in ChurnWorkload(operations: 200, seed: 8, geometry: e.geometry) { e.perform(c) }
        e.access(iova: 0, write: false)
        e.unmapPages(iova: 0x4000, pgsize: 0x4000, pgcount: 1)
        let state = e.captureState()
        #expect(try StateCodec.decode(StateCodec.encode(state)) == state.forgettingFreedTables)
        #expect(throws: StateCodec.DecodeError.self) { try StateCodec.decode([1, 2, 3]) }
    }

    @Test("a checkpoint delta gives back the later state from the earlier one, through frees, TLB and open calls")
    func deltaRoundTrip() throws {
        for (granule, strategy) in [(Granule.size4K, Strategy.eager), (.size16K, .deferred), (.size64K, .batchedSG)] {
            let e = try IOPageTable(config: PageTableConfig(granule: granule), strategy: strategy, sink: NullSinkCounting())
            var previous = e.captureState()
            var rng = SplitMix64(seed: 17)
            let calls = Array(ChurnWorkload(operations: 250, seed: 9, geometry: e.geometry))
            for (i, c) in calls.enumerated() {
                e.perform(c)
                if rng.next() % 4 == 0 { e.access(iova: c.iova, write: false) }
                if i % 23 == 22 {
                    var now = e.captureState(openCalls: i % 2 == 0 ? [.init(seq: e.seq, kind: .iommuMapSG)] : [])
                    now.seq = e.seq
                    let delta = StateCodec.encodeDelta(now, since: previous)
                    #expect(try StateCodec.kind(of: delta) == .delta(base: previous.seq))
                    #expect(try StateCodec.applyDelta(delta, to: previous) == now)
                    previous = now
                }
            }
        }
    }

    @Test("a recording writes deltas between whole states, and every point reconstructs")
    func deltasInHistory() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: .default, strategy: .eager, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        r.checkpointEvery = 1500
        r.checkpointBytesPerEvent = 0
        let geometry = try Geometry(.default)
        let calls = Array(ChurnWorkload(operations: 1200, seed: 31, geometry: geometry))
        let outcome = try r.record(into: store, steps: calls.map { WorkloadStep.call($0, line: 0) })
        let kinds = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT state FROM checkpoints WHERE run = ? ORDER BY seq", arguments: [outcome.run])
                .map { try StateCodec.kind(of: [UInt8]($0["state"] as Data)) }
        }
        let deltas = kinds.filter { $0 != .full }.count
        #expect(kinds.first == .full && deltas > kinds.count / 2, "\(kinds.count) checkpoints, \(deltas) deltas")
        // The live engine at a spread of points against the reconstruction there.
        let live = try IOPageTable(config: .default, strategy: .eager, sink: NullSinkCounting())
        var probes = Set<UInt64>()
        var rng = SplitMix64(seed: 2)
        for c in calls {
            live.perform(c)
            if rng.next() % 61 == 0 { probes.insert(live.seq) }
            if probes.contains(live.seq) {
                let rebuilt = try store.reconstruct(Point(run: outcome.run, seq: Int64(live.seq))).engine.captureState()
                #expect(Self.differences(rebuilt, live.captureState()).isEmpty, "at seq \(live.seq)")
            }
        }
        #expect(probes.count > 5)
    }

    @Test("points: names, RUN:SEQ, RUN:latest, latest, and what is not a point")
    func points() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        let r = RunRecording(config: .default, strategy: .eager, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        let steps: [WorkloadStep] = [.call(Call(kind: .iommuMap, iova: 0, paddr: 0x8000_0000, size: 0x1000, prot: [.read]), line: 1),
                                     .snapshot("one", line: 2),
                                     .call(Call(kind: .iommuUnmap, iova: 0, size: 0x1000), line: 3)]
        let outcome = try r.record(into: store, steps: steps)
        let last = try store.lastSeq(of: outcome.run)
        #expect(last == outcome.events)
        #expect(try store.resolve("latest") == Point(run: 1, seq: last))
        #expect(try store.resolve("1:latest") == Point(run: 1, seq: last))
        #expect(try store.resolve("1:5") == Point(run: 1, seq: 5))
        let one = try store.resolve("one")
        #expect(one.run == 1 && one.seq > 5 && one.seq < last)
        #expect(throws: StoreError.self) { try store.resolve("nope") }
        #expect(throws: StoreError.self) { try store.resolve("1:\(last + 1)") }
        #expect(throws: StoreError.self) { try store.resolve("7:1") }
    }
}

/// A sink that counts events without keeping them (so the engine numbers them as a recorder would).
struct NullSinkCounting: EventSink {
    static var isEnabled: Bool { true }
    var count = 0
    mutating func record(_ event: Event) { count += 1 }
}

/// The checkpoint budget (1 byte per event by default) and a run's first checkpoint.
@Suite("checkpoint budget")
struct CheckpointBudgetTests {
    @Test("a run shorter than its state's size in events still gets its first checkpoint when due, and nothing more than the budget after it")
    func firstCheckpointOwesTheBudget() throws {
        let config = PageTableConfig()
        let geometry = try config.checked()
        let calls = Array(ChurnWorkload(operations: 2100, seed: 5, geometry: geometry))
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: config, strategy: .eager, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        r.checkpointEvery = 20_000
        _ = try r.record(into: store, steps: calls.map { WorkloadStep.call($0, line: 0, column: 0) })
        let (events, rows) = try store.read { db in
            (try Int64.fetchOne(db, sql: "SELECT events FROM runs WHERE id = 1")!,
             try Row.fetchAll(db, sql: "SELECT seq, bytes FROM checkpoints WHERE run = 1 ORDER BY seq"))
        }
        let checkpoints = rows.map { (seq: $0["seq"] as Int64, bytes: $0["bytes"] as Int64) }
        let first = try #require(checkpoints.first, "no checkpoint in \(events) events")
        // The state is bigger than the events before the first boundary, so the old rule wrote none there.
        #expect(first.bytes > 20_000)
        #expect(first.seq >= 20_000 && first.seq < 21_000)
        // After the first, every checkpoint fits in the budget: total bytes minus
        // the first never exceed the events plus 8 bytes per descriptor of growth.
        let firstWords = try Self.liveWords(at: first.seq, store)
        var spent: Int64 = 0, peak = firstWords
        for c in checkpoints.dropFirst() {
            spent += c.bytes
            peak = max(peak, try Self.liveWords(at: c.seq, store))
            #expect(spent <= c.seq + 8 * Int64(peak - firstWords), "checkpoint at \(c.seq): \(spent) bytes spent after the first")
        }
        // And a point before the next checkpoint reconstructs from the first.
        let point = Point(run: 1, seq: first.seq + 100)
        let (_, engine, _) = try store.reconstruct(point)
        #expect(engine.seq == UInt64(point.seq))
    }

    /// Non-zero CPU words of the state at the checkpoint at `seq` of run 1.
    static func liveWords(at seq: Int64, _ store: HistoryStore) throws -> Int {
        let state = try #require(try store.read { db in try Checkpoints.nearest(run: 1, atOrBefore: seq, db: db, path: store.path) })
        #expect(state.seq == UInt64(seq))
        return CheckpointPolicy.liveWords(state)
    }

    @Test("a state that grows faster than the budget still gets its checkpoints: one map_sg of 30,000 scattered pages, 4 events a page")
    func growthIsCredited() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: PageTableConfig(), strategy: .eager, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        r.checkpointEvery = 10_000
        let sg = ScatterGatherWorkload(pages: 30_000, seed: 3).call
        let outcome = try r.record(into: store, steps: [.call(sg, line: 0, column: 0)])
        let (events, rows) = try store.read { db in
            (try Int64.fetchOne(db, sql: "SELECT events FROM runs WHERE id = ?", arguments: [outcome.run])!,
             try Row.fetchAll(db, sql: "SELECT seq, bytes FROM checkpoints WHERE run = ? ORDER BY seq", arguments: [outcome.run]))
        }
        let checkpoints = rows.map { (seq: $0["seq"] as Int64, bytes: $0["bytes"] as Int64) }
        #expect(events > 120_000)
        // Without the growth credit only the first was written: each delta cost about 2 bytes an event.
        #expect(checkpoints.count >= 10, "\(checkpoints.count) checkpoints in \(events) events")
        let gaps = zip(checkpoints.dropFirst(), checkpoints).map { $0.seq - $1.seq }
        #expect(gaps.allSatisfy { $0 < 12_000 }, "\(gaps)")
        let total = checkpoints.reduce(0) { $0 + $1.bytes }
        let words = try Self.liveWords(at: checkpoints.last!.seq, store)
        #expect(Double(total) <= Double(events) + 8 * Double(words) + Double(checkpoints[0].bytes), "\(total) bytes")
        // A point between two of them is the state a history without checkpoints in the call replays to.
        let plainPath = try Scratch.file()
        let plain = try HistoryStore(path: plainPath, mode: .write)
        defer { plain.close() }
        var p = r
        p.checkpointEvery = 1_000_000
        let plainRun = try p.record(into: plain, steps: [.call(sg, line: 0, column: 0)]).run
        let mid = checkpoints[checkpoints.count / 2].seq + 3_000
        let (_, engine, _) = try store.reconstruct(Point(run: outcome.run, seq: mid))
        let (_, replayed, _) = try plain.reconstruct(Point(run: plainRun, seq: mid))
        #expect(engine.seq == UInt64(mid))
        #expect(TimeTravelTests.differences(engine.captureState(), replayed.captureState()).isEmpty)
    }
}
