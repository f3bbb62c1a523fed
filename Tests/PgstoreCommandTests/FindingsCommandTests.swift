import Foundation
import Testing

/// `stale`, `query`, `stats`, `compare` through the real binary.
@Suite("pgstore findings commands")
struct FindingsCommandTests {
    static func fixture() throws -> String {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, "--strategy", "eager,deferred", "--generate", "sg:pages=600"]).status == 0)
        let findings = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/examples/findings.pgs")
        #expect(try Binary.run(["record", "--db", db, "--strategy", "deferred", findings.path]).status == 0)
        return db
    }

    @Test("stale: exit 1 with findings, 0 without")
    func stale() throws {
        let db = try Self.fixture()
        let clean = try Binary.run(["stale", "--db", db, "1"])
        #expect(clean.status == 0 && clean.stdout.contains("no stale findings"))
        let found = try Binary.run(["stale", "--db", db, "3"])
        #expect(found.status == 1)
        #expect(found.stdout.contains("stale TLB hit") && found.stdout.contains("stale read"))
        #expect(found.stdout.contains("L0/0/L1/0/L2/1/L3"))
        let json = try Binary.run(["stale", "--db", db, "--format", "json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        let upTo = try Binary.run(["stale", "--db", db, "3:40"])
        #expect(upTo.status == 1 && !upTo.stdout.contains("stale read"))
    }

    @Test("query refuses anything that writes; the file is unchanged", arguments: [
        "INSERT INTO runs (id) VALUES (99)",
        "UPDATE runs SET status = 'complete'",
        "DELETE FROM write_rows",
        "DROP TABLE writes",
        "CREATE TABLE t (x)",
        "ALTER TABLE runs ADD COLUMN x",
        "ATTACH DATABASE '/tmp/pgstore-attack.db' AS other",
        "PRAGMA writable_schema = 1",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA user_version = 7",
        "VACUUM",
        "REINDEX",
        "SELECT 1; DELETE FROM runs",
        "REPLACE INTO snapshots VALUES ('x', 1, 1, 'now')",
        "CREATE TEMP VIEW v AS SELECT 1",
    ])
    func refusesWrites(_ sql: String) throws {
        let db = try Self.fixture()
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let r = try Binary.run(["query", "--db", db, sql])
        #expect(!r.signaled)
        #expect(r.status == 2, "\(sql): status \(r.status)")
        #expect(r.stderr.contains("refused") || r.stderr.contains("read-only") || r.stderr.contains("not authorized"), "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/pgstore-attack.db"))
    }

    @Test("query output: aligned table with addresses in hex, CSV, JSON; SQL errors are status 2")
    func queryOutput() throws {
        let db = try Self.fixture()
        let t = try Binary.run(["query", "--db", db, "SELECT iova, new, level FROM writes WHERE run = 1 AND level = 3 ORDER BY seq LIMIT 1"])
        #expect(t.status == 0)
        let lines = t.stdout.split(separator: "\n")
        #expect(lines[0].split(separator: " ") == ["iova", "new", "level"] && lines[1].hasPrefix("----"))
        #expect(lines[2].contains("0x100000000") && lines[2].contains("e43"))
        let csv = try Binary.run(["query", "--db", db, "--format", "csv", "SELECT count(*) AS n FROM runs"])
        #expect(csv.stdout == "n\n3\n")
        let bad = try Binary.run(["query", "--db", db, "SELECT * FROM nowhere"])
        #expect(bad.status == 2 && bad.stderr.contains("no such table"))
    }

    @Test("stats and compare read the strategy summary, with ratios to the first run")
    func compare() throws {
        let db = try Self.fixture()
        let stats = try Binary.run(["stats", "--db", db, "1"])
        #expect(stats.status == 0 && stats.stdout.contains("lines_cleaned"))
        let json = try Binary.run(["compare", "--db", db, "1", "2", "--format", "json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        let eager = try #require(rows[0]["lines_cleaned"] as? Int), deferred = try #require(rows[1]["lines_cleaned"] as? Int)
        // 600 leaves in two level-3 tables (512 + 88 entries: 64 + 11 lines), four table descriptors.
        #expect(eager == 600 + 4 && deferred == 64 + 11 + 4)
        let ratio = try #require(rows[1]["lines_cleaned_ratio"] as? Double)
        #expect(abs(ratio - Double(deferred) / Double(eager)) < 0.001)
        // Two workloads (the generator's two runs, the script's one): a heading, a table and its baseline each.
        let all = try Binary.run(["compare", "--db", db])
        let lines = all.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.filter { $0.hasPrefix("workload ") }.count == 2)
        #expect(lines.filter { $0 == "ratios to run 1, the first complete run of this workload" }.count == 1)
        #expect(lines.filter { $0 == "ratios to run 3, the first complete run of this workload" }.count == 1)
        #expect(lines.count == 6 + 1 + 5 + 1)   // the blank line between workloads, the final newline
    }
}
