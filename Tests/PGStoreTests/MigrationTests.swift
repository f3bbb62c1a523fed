import Foundation
import GRDB
import Testing
@testable import PGStore

@Suite("Schema and migrations")
struct MigrationTests {
    @Test("the embedded migrations are the files of migrations/, in order")
    func embeddedMatchFiles() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(Schema.identifiers == files.map { String($0.dropLast(4)) })
        for f in files {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            #expect(Schema.sql(of: String(f.dropLast(4)))?.trimmingCharacters(in: .whitespacesAndNewlines)
                    == text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    @Test("an empty file gets every migration, recorded, and the pgstore application id")
    func freshFile() throws {
        let path = try Scratch.file()
        let store = try HistoryStore(path: path, mode: .write)
        #expect(try store.appliedMigrations() == Schema.identifiers)
        let appID = try store.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") }
        #expect(appID == Schema.applicationID)
        let mode = try store.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        store.close()
    }

    @Test("a file made by 0001 alone is upgraded")
    func upgrade() throws {
        let path = try Scratch.file()
        let old = try DatabaseQueue(path: path)
        try Schema.migrator(upTo: "0001_initial").migrate(old)
        let (hasRuns, hasSnapshots) = try old.read { db in (try db.tableExists("runs"), try db.tableExists("snapshots")) }
        #expect(hasRuns && !hasSnapshots)
        try old.close()
        let store = try HistoryStore(path: path, mode: .write)
        #expect(try store.appliedMigrations() == Schema.identifiers)
        #expect(try store.read { db in try db.tableExists("snapshots") })
        store.close()
    }

    @Test("a file from a newer pgstore is refused, naming both versions, and left untouched")
    func newer() throws {
        let path = try Scratch.file()
        do {
            let store = try HistoryStore(path: path, mode: .write)
            try store.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('9999_from_the_future')") }
            try store.withConnection { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            store.close()
        }
        let before = Scratch.snapshot(path)
        for mode in [HistoryStore.Mode.write, .read] {
            #expect {
                try HistoryStore(path: path, mode: mode)
            } throws: { error in
                let e = try #require(error as? StoreError)
                return e.kind == .newerSchema && e.message.contains("version \(Schema.version + 1)")
                    && e.message.contains("knows version \(Schema.version)") && e.message.contains("9999_from_the_future")
            }
        }
        #expect(Scratch.snapshot(path) == before)
    }

    @Test("files that are not pgstore histories are refused untouched", arguments: ["text", "other-sqlite", "truncated"])
    func notPgstore(_ kind: String) throws {
        let path = try Scratch.file()
        switch kind {
        case "text":
            try Data("hello, this is not a database\n".utf8).write(to: URL(fileURLWithPath: path))
        case "other-sqlite":
            let q = try DatabaseQueue(path: path)
            try q.write { db in try db.execute(sql: "CREATE TABLE people (name TEXT)") }
            try q.close()
        default:
            let store = try HistoryStore(path: path, mode: .write)
            store.close()
            let full = try Data(contentsOf: URL(fileURLWithPath: path))
            try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: path))
            try? FileManager.default.removeItem(atPath: path + "-wal")
            try? FileManager.default.removeItem(atPath: path + "-shm")
        }
        let before = Scratch.snapshot(path)
        #expect {
            try HistoryStore(path: path, mode: .write)
        } throws: { error in
            let e = try #require(error as? StoreError)
            return e.kind == .notPgstore && e.message.contains("pgstore") || e.message.contains("damaged")
        }
        #expect(Scratch.snapshot(path) == before)
    }

    @Test("a missing directory and a missing file for reading name the path")
    func missing() {
        #expect { try HistoryStore(path: "/nonexistent-dir/x.pgdb", mode: .write) } throws: { error in
            (error as? StoreError)?.message.contains("/nonexistent-dir") == true
        }
        #expect { try HistoryStore(path: "/tmp/definitely-missing-\(UUID()).pgdb", mode: .read) } throws: { error in
            (error as? StoreError)?.message.contains("no such file") == true
        }
    }
}
