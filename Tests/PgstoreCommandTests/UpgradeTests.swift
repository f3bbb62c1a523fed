import Foundation
import GRDB
import Testing

/// A history written by the schema-6 pgstore (Tests/Fixtures/history-v6.pgdb):
/// readers refuse it untouched and name the way out, `migrate` upgrades it,
/// and afterwards every command answers as it does for the same runs recorded
/// by this pgstore.
@Suite("upgrading an old history")
struct UpgradeTests {
    static let fixture = Binary.sharedConformance.deletingLastPathComponent().appendingPathComponent("history-v6.pgdb")

    /// The fixture's runs recorded again by this pgstore (what make-history-v6.sh records).
    static func fresh(in dir: URL) throws -> String {
        let db = dir.appendingPathComponent("fresh.pgdb").path
        // Relative, from the repository, as make-history-v6.sh gives it: the path is the run's source.
        let findings = "docs/examples/findings.pgs"
        let more = dir.appendingPathComponent("more.pgs")
        try "iommu_map 0x40000000 0x90000000 0x2000 rw\nsnapshot later\n".write(to: more, atomically: true, encoding: .utf8)
        for args in [["record", "--db", db, "--strategy", "eager,deferred", "--generate", "churn:ops=120,seed=7"],
                     ["record", "--db", db, "--strategy", "deferred", findings],
                     ["restore", "--db", db, "1:latest", "--into", db],
                     ["record", "--db", db, "--continue", "4", more.path]] {
            let r = try Binary.run(args, in: DocExamples.root)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        return db
    }

    @Test("readers refuse it untouched; migrate upgrades it; then it answers as a fresh recording does")
    func upgrade() throws {
        let dir = try Binary.scratch()
        let old = dir.appendingPathComponent("old.pgdb").path
        try FileManager.default.copyItem(atPath: Self.fixture.path, toPath: old)
        let before = try Data(contentsOf: URL(fileURLWithPath: old))

        let refused = try Binary.run(["stats", "--db", old, "1"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("schema version 6") && refused.stderr.contains("pgstore migrate \(old)"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: old)) == before, "a reader changed the file")

        // Every write as the old file stored it, level and IOVA included.
        let writesSQL = "SELECT run, seq, call, tbl, idx, level, iova, old, new FROM writes ORDER BY run, seq"
        func writes(_ path: String) throws -> [[Int64]] {
            try DatabaseQueue(path: path).read { db in
                try Row.fetchAll(db, sql: writesSQL).map { row in (0..<9).map { row[$0] as Int64 } }
            }
        }
        let stored = try writes(old)
        #expect(stored.count > 100)

        let migrate = try Binary.run(["migrate", old])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdout.contains("schema version 12") && migrate.stdout.contains("upgraded from schema version 6"), "\(migrate.stdout)")
        // The rebuilt tables' old pages: said, with the way to give them back.
        #expect(migrate.stdout.contains("of pages the upgrade freed stay in the file") && migrate.stdout.contains("VACUUM"), "\(migrate.stdout)")

        // Version 12 stores writes without level and IOVA and derives them
        // from the table (run 4's inherited tables too): the same values.
        #expect(try writes(old) == stored)

        let fresh = try Self.fresh(in: dir)
        for command in [["compare", "--format", "csv"], ["stats", "1", "--format", "csv"], ["stats", "3", "--format", "csv"],
                        ["stale", "--format", "csv"], ["dump", "4:later"], ["diff", "1:latest", "4:later"],
                        ["query", "--format", "csv", "SELECT run, strategy, clean_calls, lines_cleaned, lines_per_mapped_page FROM strategy_summary"],
                        ["query", "--format", "csv", "SELECT * FROM run_totals ORDER BY run"],
                        // Version 10 rekeyed the event tables: the rows and their run and seq carry over.
                        ["query", "--format", "csv", "SELECT id, run, seq, call, tbl, idx, level, iova, old, new FROM writes ORDER BY id"],
                        ["query", "--format", "csv", "SELECT run, seq, end_seq, parent, depth, kind, ret, value FROM calls ORDER BY run, seq"],
                        ["query", "--format", "csv", "SELECT run, seq, tbl, first_line, lines, reason FROM cleans ORDER BY id"],
                        ["query", "--format", "csv", "SELECT id, strategy, backend, kernel_version, defer_sync_pte, kernel_profile FROM runs ORDER BY id"],
                        ["query", "--format", "csv", "SELECT run, count(*), sum(cleans) FROM line_totals GROUP BY run"],
                        // Version 11 keeps per-table totals, filled from the line totals on upgrade.
                        ["query", "--format", "csv", "SELECT * FROM table_totals ORDER BY run, tbl"],
                        ["runs", "--segments", "--format", "json"]] {
            let a = try Binary.run([command[0], "--db", old] + command.dropFirst())
            let b = try Binary.run([command[0], "--db", fresh] + command.dropFirst())
            #expect(a.status == b.status, "\(command)")
            if command[0] == "runs" {
                // Times and the continuation's temporary path differ; so does a
                // restored run's source hash, which is of the state's checkpoint
                // encoding (format 3 since); the rest must not.
                func stable(_ s: String) throws -> [[String: String]] {
                    let rows = try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [[String: Any]])
                    return rows.map { row in
                        let restored = row["source_kind"] as? String == "restore"
                        return row.filter { !["started", "ended", "source"].contains($0.key) && !(restored && $0.key == "source_sha256") }
                            .mapValues { "\($0)" }
                    }
                }
                #expect(try stable(a.stdout) == stable(b.stdout), "\(command)")
            } else {
                #expect(a.stdout.replacingOccurrences(of: old, with: "F") == b.stdout.replacingOccurrences(of: fresh, with: "F"), "\(command)")
            }
        }
    }

    @Test("record upgrades it with a note, then records into it")
    func recordUpgrades() throws {
        let dir = try Binary.scratch()
        let old = dir.appendingPathComponent("old.pgdb").path
        try FileManager.default.copyItem(atPath: Self.fixture.path, toPath: old)
        let r = try Binary.run(["record", "--db", old, "--generate", "sg:pages=16"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("upgraded from schema version 6 to 12 before recording"), "\(r.stderr)")
        let runs = try RecordCommandTests.runsJSON(old)
        #expect(runs.count == 5)
    }
}
