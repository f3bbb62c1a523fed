import Foundation
import GRDB
import Testing
@testable import PGEngine
import PGSources
@testable import PGStore

/// The views against figures the kernel's own logs give.
@Suite("Findings views")
struct FindingsViewTests {
    static let conformance = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/conformance")

    /// The STATS line of a conformance log, as numbers.
    static func stats(_ name: String) throws -> [String: Int64] {
        let text = try String(contentsOf: conformance.appendingPathComponent("out/\(name)"), encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("STATS ") })
        var out: [String: Int64] = [:]
        for field in line.dropFirst(6).split(separator: " ") {
            let kv = field.split(separator: "=")
            out[String(kv[0])] = Int64(kv[1])
        }
        return out
    }

    static func record(_ workload: String, strategy: Strategy, into store: HistoryStore) throws -> Int64 {
        let text = try String(contentsOf: conformance.appendingPathComponent(workload), encoding: .utf8)
        let script = try ScriptParser.parse(text, file: workload)
        let steps = script.statements.compactMap { s -> WorkloadStep? in
            if case .call(let c) = s.command { return .call(c, line: s.location.line) }
            return nil
        }
        let r = RunRecording(config: .default, strategy: strategy, source: WorkloadSource(kind: .script, description: workload, sha256: "0"),
                             pgstoreVersion: "test")
        return try r.record(into: store, steps: steps).run
    }

    @Test("the seed's 512 single-page maps: the views give the kernel's line counts", arguments: [
        ("w2_512x4k_eager.txt", "w2_512x4k_eager.eager.txt", Strategy.eager),
        ("w2_512x4k_deferred.txt", "w2_512x4k_deferred.deferred.txt", Strategy.deferred),
        ("w8_deferred_scenarios.txt", "w8_deferred_scenarios.deferred.txt", Strategy.deferred),
        ("w6_edge_cases.txt", "w6_edge_cases.eager.txt", Strategy.eager),
    ])
    func kernelFigures(_ workload: String, _ log: String, _ strategy: Strategy) throws {
        let kernel = try Self.stats(log)
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let run = try Self.record(workload, strategy: strategy, into: store)
        let row = try #require(try store.read { db in try Row.fetchOne(db, sql: "SELECT * FROM strategy_summary WHERE run = ?", arguments: [run]) })
        #expect(row["clean_calls"] as Int64 == kernel["cmo_sync_calls"])
        #expect(row["lines_cleaned"] as Int64 == kernel["cmo_lines_total"])
        #expect(row["redundant_lines"] as Int64 == kernel["cmo_lines_total"]! - kernel["cmo_distinct_lines"]!)
        #expect(row["tlb_flush_walk"] as Int64 == kernel["tlb_flush_walk"])
        #expect(row["tlb_add_page"] as Int64 == kernel["tlb_add_page"])
        let most = try store.read { db in try Int64.fetchOne(db, sql: "SELECT max(cleans) FROM line_cleans WHERE run = ?", arguments: [run]) }
        #expect(most == kernel["cmo_max_per_line"])
        let distinct = try store.read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM line_cleans WHERE run = ?", arguments: [run]) }
        #expect(distinct == kernel["cmo_distinct_lines"])
        if workload.hasPrefix("w2") {
            let mapped = row["mapped_pages"] as Int64
            #expect(mapped == 512)
            #expect(row["lines_per_mapped_page"] as Double == (Double(kernel["cmo_lines_total"]!) / 512 * 10_000).rounded() / 10_000)
        }
    }

    @Test("the engine's already-clean counts agree with the line_cleans view")
    func alreadyCleanAgrees() throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let geometry = try Geometry(.default)
        var steps: [WorkloadStep] = ChurnWorkload(operations: 300, seed: 2, geometry: geometry).map { .call($0, line: 0) }
        steps.append(.call(Call(kind: .iotlbSyncMap, iova: 0, size: 1 << 30), line: 0))
        let r = RunRecording(config: .default, strategy: .deferred, source: WorkloadSource(kind: .generator, description: "t", sha256: "0"),
                             pgstoreVersion: "test")
        let run = try r.record(into: store, steps: steps + [.call(Call(kind: .iotlbSyncMap, iova: 0, size: 1 << 30), line: 0)]).run
        let (engine, view) = try store.read { db in
            (try Int64.fetchOne(db, sql: "SELECT sum(already_clean) FROM cleans WHERE run = ? AND reason = 0", arguments: [run]),
             try Int64.fetchOne(db, sql: "SELECT sum(already_clean) FROM line_cleans WHERE run = ?", arguments: [run]))
        }
        #expect((engine ?? 0) > 0)
        #expect(engine == view)
    }

    @Test("point queries use the keys: no full scan of an event table")
    func queryPlans() throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        // A range of one run's events is a range of id, (run << 40) | seq.
        for sql in ["SELECT * FROM writes WHERE id BETWEEN (1 << 40) + 10 AND (1 << 40) + 20",
                    "SELECT * FROM cleans WHERE id > (1 << 40) + 5 AND id <= (1 << 40) + 50",
                    "SELECT * FROM calls WHERE id = (1 << 40) | 7",
                    "SELECT * FROM calls WHERE run = 1 AND depth = 0 AND end_seq > 5 AND end_seq <= 50",
                    "SELECT state FROM checkpoints WHERE run = 1 AND seq <= 100 ORDER BY seq DESC LIMIT 1",
                    "SELECT * FROM findings WHERE run = 1"] {
            let plan = try store.read { db in try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String } }
            // Scanning a view's co-routine output is fine; scanning a table is not.
            let coroutines = Set(plan.filter { $0.hasPrefix("CO-ROUTINE ") }.map { String($0.dropFirst(11)) })
            let scans = plan.filter { line in
                guard line.hasPrefix("SCAN "), !line.contains("USING") else { return false }
                return !coroutines.contains(String(line.dropFirst(5)))
            }
            #expect(scans.isEmpty, "\(sql): \(plan)")
        }
    }

    @Test("a diff counts a range's invalidations through the key, with no index built over tlb_ops")
    func diffInvalidationPlan() throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let plan = try store.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + HistoryDiff.invalidationsSQL, arguments: [1 << 40, (1 << 40) + 100]).map { $0["detail"] as String }
        }
        #expect(plan.contains("SEARCH tlb_ops USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "\(plan)")
        #expect(!plan.contains { $0.contains("tlb_ops") && $0.contains("AUTOMATIC") }, "\(plan)")
    }
}
