import Foundation
import GRDB
import Testing
@testable import PGEngine
import PGSources
@testable import PGStore

/// The totals the recorder keeps (migration 0008) say exactly what the views
/// compute from the events, for every kind of run: new, continued, restored,
/// with findings, stopped inside a long call.
@Suite("Run totals")
struct RunTotalsTests {
    static func source(_ name: String) -> WorkloadSource { WorkloadSource(kind: .generator, description: name, sha256: "0") }

    /// Kept totals against the events, for every run of the file.
    static func check(_ store: HistoryStore) throws {
        for info in try store.runs() {
            let kept = try #require(try store.keptSummary(info), "run \(info.id) has no totals")
            #expect(kept == (try store.summaryFromEvents(of: info.id)), "run \(info.id)")
            try store.read { db in
                let fromEvents = try Row.fetchAll(db, sql: """
                    SELECT tbl, line, count(*) AS n FROM clean_lines WHERE run = ? AND reason = 0 GROUP BY tbl, line ORDER BY tbl, line
                    """, arguments: [info.id]).map { [$0["tbl"], $0["line"], $0["n"]] as [Int64] }
                let keptLines = try Row.fetchAll(db, sql: "SELECT tbl, line, cleans FROM line_totals WHERE run = ? ORDER BY tbl, line",
                                                 arguments: [info.id]).map { [$0["tbl"], $0["line"], $0["cleans"]] as [Int64] }
                #expect(keptLines == fromEvents, "line totals of run \(info.id)")
                // Per table (migration 0011): cleans and distinct lines, and the run's count of tables.
                let tablesFromEvents = try Row.fetchAll(db, sql: """
                    SELECT tbl, count(*) AS cleans, count(DISTINCT line) AS lines FROM clean_lines WHERE run = ? AND reason = 0
                    GROUP BY tbl ORDER BY tbl
                    """, arguments: [info.id]).map { [$0["tbl"], $0["cleans"], $0["lines"]] as [Int64] }
                let keptTables = try Row.fetchAll(db, sql: "SELECT tbl, cleans, lines FROM table_totals WHERE run = ? ORDER BY tbl",
                                                  arguments: [info.id]).map { [$0["tbl"], $0["cleans"], $0["lines"]] as [Int64] }
                #expect(keptTables == tablesFromEvents, "table totals of run \(info.id)")
                let cleanedTables = try Int64.fetchOne(db, sql: "SELECT cleaned_tables FROM run_totals WHERE run = ?", arguments: [info.id])
                #expect(cleanedTables == Int64(tablesFromEvents.count), "tables cleaned in run \(info.id)")
                let last = try Row.fetchOne(db, sql: "SELECT * FROM batch_totals WHERE run = ? ORDER BY through_seq DESC LIMIT 1", arguments: [info.id])
                #expect((last?["descriptor_writes"] as Int64?) == kept.descriptorWrites)
                #expect((last?["lines_cleaned"] as Int64?) == kept.linesCleaned)
                // Cumulative counts at each batch are those of the events up to it.
                for b in try Row.fetchAll(db, sql: "SELECT * FROM batch_totals WHERE run = ? ORDER BY through_seq", arguments: [info.id]).prefix(5) {
                    let writes = try Int64.fetchOne(db, sql: "SELECT count(*) FROM writes WHERE run = ? AND seq <= ?", arguments: [info.id, b["through_seq"]])
                    #expect(writes == b["descriptor_writes"])
                }
            }
        }
    }

    @Test("new, continued and restored runs, under each strategy, with findings", arguments: [Strategy.eager, .deferred, .batchedSG])
    func keptEqualsEvents(_ strategy: Strategy) throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        let geometry = try Geometry(.default)
        var calls = Array(ChurnWorkload(operations: 400, seed: 21, geometry: geometry))
        calls.append(ScatterGatherWorkload(pages: 900, seed: 4, iova: 0x7_0000_0000).call)
        // Findings: a device walk before sync_map, an unmap without invalidation.
        calls.append(Call(kind: .iommuMap, iova: 0x9_0000_0000, paddr: 0x8000_0000, size: 0x1000, prot: [.read, .write]))
        calls.append(Call(kind: .access, iova: 0x9_0000_0000, prot: [.read]))
        calls.append(Call(kind: .unmapPages, iova: 0x9_0000_0000, size: 0x1000, count: 1))
        calls.append(Call(kind: .access, iova: 0x9_0000_0000, prot: [.read]))
        var r = RunRecording(config: .default, strategy: strategy, source: Self.source("t"), pgstoreVersion: "test")
        r.batchSize = 700
        let first = try r.record(into: store, steps: calls.map { WorkloadStep.call($0, line: 0) })
        let more = Array(ChurnWorkload(operations: 150, seed: 22, geometry: geometry)).map { WorkloadStep.call($0, line: 0) }
        _ = try store.continueRun(first.run, steps: more, source: Self.source("more"), pgstoreVersion: "test", batchSize: 500,
                                  lenient: false, failOnCallError: false)
        // A point between calls: the end of the 100th top-level call.
        let between = try store.read { db in
            try Int64.fetchOne(db, sql: "SELECT end_seq FROM calls WHERE run = ? AND depth = 0 ORDER BY seq LIMIT 1 OFFSET 100", arguments: [first.run])!
        }
        let restored = try store.restore(Point(run: first.run, seq: between), into: store, strategy: nil)
        _ = try store.continueRun(restored, steps: more, source: Self.source("after restore"), pgstoreVersion: "test", batchSize: 300,
                                  lenient: false, failOnCallError: false)
        #expect(try store.summary(of: first.run).staleFindings > 0, "the workload has findings to count")
        try Self.check(store)
    }

    @Test("a recording stopped inside a long call: the totals are those of the committed events")
    func stoppedInsideCall() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: .default, strategy: .eager, source: Self.source("sg"), pgstoreVersion: "test")
        r.batchSize = 3000
        var polls = 0
        let outcome = try r.record(into: store, steps: [WorkloadStep.call(ScatterGatherWorkload(pages: 20_000, seed: 1).call, line: 0)],
                                   stopRequest: {
                                       polls += 1
                                       return polls > 30 ? "stopped by the test" : nil
                                   })
        #expect(outcome.status == .incomplete)
        #expect(outcome.message?.hasPrefix("stopped by the test inside call") == true)
        try Self.check(store)
    }

    @Test("a long run's report timeline reads the batch totals: each point is the count through the last batch before it")
    func timelineFromBatches() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: .default, strategy: .eager, source: Self.source("churn"), pgstoreVersion: "test")
        r.batchSize = 150
        let geometry = try Geometry(.default)
        let outcome = try r.record(into: store, steps: ChurnWorkload(operations: 500, seed: 3, geometry: geometry).map { WorkloadStep.call($0, line: 0) })
        let data = try store.reportData(runs: [outcome.run], timelinePoints: 40)
        let timeline = try #require(data.runs.first?.timeline)
        let summary = try store.summary(of: outcome.run)
        #expect(timeline.last?.writes == summary.descriptorWrites && timeline.last?.lines == summary.linesCleaned)
        try store.read { db in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM batch_totals WHERE run = ?", arguments: [outcome.run])! >= 40)
            for point in timeline.dropFirst() {
                let through = try Int64.fetchOne(db, sql: "SELECT coalesce(max(through_seq), 0) FROM batch_totals WHERE run = ? AND through_seq <= ?",
                                                 arguments: [outcome.run, point.seq])!
                let writes = try Int64.fetchOne(db, sql: "SELECT count(*) FROM writes WHERE run = ? AND seq <= ?", arguments: [outcome.run, through])!
                #expect(point.writes == writes, "at \(point.seq)")
            }
        }
    }

    @Test("a long run with fewer batches than timeline points gets one point per batch, each the exact count through it")
    func timelineOnePointPerBatch() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: .default, strategy: .eager, source: Self.source("churn"), pgstoreVersion: "test")
        r.batchSize = 2_000
        let geometry = try Geometry(.default)
        let outcome = try r.record(into: store, steps: ChurnWorkload(operations: 500, seed: 3, geometry: geometry).map { WorkloadStep.call($0, line: 0) })
        // A count limit of 0 treats the run as long: counting its events is not allowed.
        let data = try store.reportData(runs: [outcome.run], timelinePoints: 1_000, timelineCountLimit: 0)
        let timeline = try #require(data.runs.first?.timeline)
        let lastSeq = try store.lastSeq(of: outcome.run)
        try store.read { db in
            let throughs = try Int64.fetchAll(db, sql: "SELECT through_seq FROM batch_totals WHERE run = ? ORDER BY through_seq", arguments: [outcome.run])
            #expect(throughs.count > 2 && throughs.count < 1_000)
            #expect(timeline.map(\.seq) == [0] + throughs)
            #expect(timeline.last?.seq == lastSeq)
            for point in timeline.dropFirst() {
                let writes = try Int64.fetchOne(db, sql: "SELECT count(*) FROM writes WHERE run = ? AND seq <= ?", arguments: [outcome.run, point.seq])!
                let lines = try Int64.fetchOne(db, sql: "SELECT coalesce(sum(lines), 0) FROM cleans WHERE run = ? AND seq <= ? AND reason = 0",
                                               arguments: [outcome.run, point.seq])!
                #expect(point.writes == writes && point.lines == lines, "at \(point.seq)")
            }
        }
    }

    @Test("the report's heatmap takes the most-cleaned tables from the table totals, with the lines, paths and left-out counts of the events")
    func heatmapFromTableTotals() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        var r = RunRecording(config: .default, strategy: .eager, source: Self.source("churn"), pgstoreVersion: "test")
        r.batchSize = 700
        let geometry = try Geometry(.default)
        let outcome = try r.record(into: store, steps: ChurnWorkload(operations: 400, seed: 8, geometry: geometry).map { WorkloadStep.call($0, line: 0) })
        let data = try store.reportData(runs: [outcome.run], maxTables: 3, maxCells: 10_000)
        let run = try #require(data.runs.first)
        let allPaths = try store.tablePaths(run: outcome.run)
        try store.read { db in
            let perTable = try Row.fetchAll(db, sql: """
                SELECT tbl, count(*) AS cleans, count(DISTINCT line) AS lines FROM clean_lines WHERE run = ? AND reason = 0
                GROUP BY tbl ORDER BY cleans DESC, tbl
                """, arguments: [outcome.run])
            #expect(perTable.count > 3)
            #expect(run.heat.map(\.table) == perTable.prefix(3).map { $0["tbl"] as Int64 })
            #expect(run.heat.map(\.total) == perTable.prefix(3).map { $0["cleans"] as Int64 })
            #expect(run.omittedTables == perTable.count - 3)
            let shownCells = run.heat.reduce(0) { $0 + $1.cells.count }
            #expect(run.omittedCells == perTable.reduce(0) { $0 + ($1["lines"] as Int) } - shownCells)
            for t in run.heat {
                let lines = try Row.fetchAll(db, sql: """
                    SELECT line, count(*) AS n FROM clean_lines WHERE run = ? AND reason = 0 AND tbl = ? GROUP BY line ORDER BY line
                    """, arguments: [outcome.run, t.table]).map { [$0["line"], $0["n"]] as [Int64] }
                #expect(t.cells.map { [Int64($0.line), $0.times] } == lines, "table \(t.table)")
                #expect(t.path == allPaths[t.table], "table \(t.table)")
            }
        }
    }
}
