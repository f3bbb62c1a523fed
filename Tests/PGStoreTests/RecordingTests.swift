import Foundation
import GRDB
import Testing
@testable import PGEngine
import PGSources
@testable import PGStore

@Suite("Recording")
struct RecordingTests {
    static func steps(_ calls: [Call]) -> [WorkloadStep] { calls.map { .call($0, line: 0) } }

    static func record(_ calls: [Call], strategy: Strategy, config: PageTableConfig = .default, batch: Int64 = 1000,
                       into path: String) throws -> RunRecording.Outcome {
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: config, strategy: strategy,
                             source: WorkloadSource(kind: .generator, description: "test", sha256: "0"), pgstoreVersion: "test")
        r.batchSize = batch
        return try r.record(into: store, steps: steps(calls))
    }

    @Test("the rows are the engine's event stream", arguments: [Strategy.eager, .deferred, .batchedSG])
    func rowsMatchEvents(_ strategy: Strategy) throws {
        let geometry = try Geometry(.default)
        var calls = Array(ChurnWorkload(operations: 300, seed: 11, geometry: geometry))
        calls.append(Call(kind: .access, iova: 0, prot: [.read]))
        calls.append(ScatterGatherWorkload(pages: 600, seed: 2, iova: 0x7_0000_0000).call)

        let reference = try IOPageTable(config: .default, strategy: strategy, sink: EventLog())
        for c in calls { reference.perform(c) }
        let events = reference.sink.events

        let path = try Scratch.file()
        let outcome = try Self.record(calls, strategy: strategy, into: path)
        #expect(outcome.status == .complete)
        #expect(outcome.events == Int64(events.count))

        let store = try HistoryStore(path: path, mode: .read)
        defer { store.close() }
        func count(_ table: String) throws -> Int { try store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE run = ?", arguments: [outcome.run])! } }
        func n(_ match: (EventPayload) -> Bool) -> Int { events.filter { match($0.payload) }.count }

        #expect(try count("calls") == n { if case .callBegin = $0 { true } else { false } })
        #expect(try count("writes") == n { if case .write = $0 { true } else { false } })
        #expect(try count("cleans") == n { if case .clean = $0 { true } else { false } })
        #expect(try count("tlb_ops") == n { p in
            switch p { case .invalidate, .addPage: return true; default: return false }
        })
        #expect(try count("table_allocs") == n { if case .tableAlloc = $0 { true } else { false } })
        #expect(try count("table_frees") == n { if case .tableFree = $0 { true } else { false } })
        #expect(try count("accesses") == 1)
        #expect(try count("sg_segments") == 600 + calls.filter { $0.kind == .iommuMapSG }.dropLast().reduce(0) { $0 + $1.segments.count })

        // Spot values: the last write and the last clean, field by field.
        let lastWrite = try #require(events.last { if case .write = $0.payload { true } else { false } })
        guard case .write(let table, let index, let level, let iova, let old, let new) = lastWrite.payload else { return }
        let row = try #require(try store.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM writes WHERE run = ? AND seq = ?", arguments: [outcome.run, Int64(lastWrite.seq)])
        })
        #expect(row["call"] as Int64 == Int64(lastWrite.call))
        #expect(row["tbl"] as Int == table && row["idx"] as Int == index && row["level"] as Int == level)
        #expect(UInt64(bitPattern: row["iova"] as Int64) == iova)
        #expect(UInt64(bitPattern: row["old"] as Int64) == old && UInt64(bitPattern: row["new"] as Int64) == new)

        let lines = events.reduce(0) { sum, e in
            if case .clean(_, _, _, _, let l, _, .descriptors) = e.payload { return sum + l } else { return sum }
        }
        let stored = try store.read { db in try Int.fetchOne(db, sql: "SELECT sum(lines) FROM cleans WHERE run = ? AND reason = 0", arguments: [outcome.run]) }
        #expect(stored == lines)
        #expect(Int64(lines) == outcome.linesCleaned)

        // Calls: ends, parents and results.
        let sgCall = try #require(try store.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM calls WHERE run = ? AND kind = 7 ORDER BY seq DESC LIMIT 1", arguments: [outcome.run])
        })
        #expect(sgCall["ret"] as Int64 == 0 && sgCall["value"] as Int64 == 600 * 4096)
        #expect(sgCall["end_seq"] as Int64 == Int64(events.count))

        let run = try store.run(outcome.run)
        #expect(run.status == .complete && run.events == Int64(events.count) && run.strategy == strategy)
    }

    @Test("a reader sees whole batches while a record runs")
    func concurrentReader() throws {
        let path = try Scratch.file()
        _ = try HistoryStore(path: path, mode: .write)   // create and migrate first
        let geometry = try Geometry(.default)
        let calls = Array(ChurnWorkload(operations: 20_000, seed: 5, geometry: geometry))
        let done = Atomicish()
        let writer = Thread {
            _ = try? Self.record(calls, strategy: .eager, batch: 2_000, into: path)
            done.set()
        }
        writer.start()
        let reader = try HistoryStore(path: path, mode: .read)
        defer { reader.close() }
        var observations = 0
        var sawProgress = false
        while !done.isSet || observations == 0 {
            let (events, rows) = try reader.read { db -> (Int64, Int64) in
                let events = try Int64.fetchOne(db, sql: "SELECT coalesce(max(events), 0) FROM runs") ?? 0
                var rows: Int64 = 0
                for t in ["writes", "cleans", "tlb_ops", "table_allocs", "table_frees", "accesses", "warnings"] {
                    rows += try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(t)")!
                }
                // A call a batch cut through is there with its begin event only.
                rows += 2 * (try Int64.fetchOne(db, sql: "SELECT count(*) FROM calls")!)
                rows += try Int64.fetchOne(db, sql: "SELECT count(*) FROM unfinished_calls")!
                return (events, rows)
            }
            #expect(events == rows, "a reader saw \(rows) rows for \(events) committed events")
            if events > 0 && !done.isSet { sawProgress = true }
            observations += 1
        }
        #expect(observations > 1)
        #expect(sawProgress)
    }
}

/// A flag set by one thread and read by another.
final class Atomicish: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
