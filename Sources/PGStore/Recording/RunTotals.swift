import GRDB
import GRDBSQLite

/// The totals a recorder keeps as it records (migrations 0008, 0011): the
/// figures of `strategy_summary` for the run, the descriptor cleans of each
/// cache line and of each table, and the cumulative writes and lines at each
/// batch. They are written in the transaction of each batch, so they always
/// match the committed events.
struct RunTotals {
    var calls: Int64 = 0
    var descriptorWrites: Int64 = 0
    var cleanCalls: Int64 = 0
    var linesCleaned: Int64 = 0
    var mappedBytes: Int64 = 0
    var flushAll: Int64 = 0
    var flushWalk: Int64 = 0
    var invRange: Int64 = 0
    var addPage: Int64 = 0
    var staleDescriptors: Int64 = 0
    var staleReads: Int64 = 0
    var staleTLBHits: Int64 = 0
    /// Lines cleaned at least once, and the most cleans of one line.
    var distinctLines: Int64 = 0
    var maxLineCleans: Int64 = 0
    /// Tables with at least one line cleaned.
    var cleanedTables: Int64 = 0

    struct Line: Hashable { var table: Int64; var line: Int64 }
    /// Cleans per line since the last commit.
    var lineCleans: [Line: Int64] = [:]

    /// A run's stored totals (continuing it), or zeros.
    static func load(run: Int64, db: Database) throws -> RunTotals {
        var t = RunTotals()
        guard let r = try Row.fetchOne(db, sql: "SELECT * FROM run_totals WHERE run = ?", arguments: [run]) else { return t }
        t.calls = r["calls"]; t.descriptorWrites = r["descriptor_writes"]; t.cleanCalls = r["clean_calls"]
        t.linesCleaned = r["lines_cleaned"]; t.mappedBytes = r["mapped_bytes"]; t.flushAll = r["tlb_flush_all"]
        t.flushWalk = r["tlb_flush_walk"]; t.invRange = r["tlb_inv_range"]; t.addPage = r["tlb_add_page"]
        t.staleDescriptors = r["stale_descriptors"]; t.staleReads = r["stale_reads"]; t.staleTLBHits = r["stale_tlb_hits"]
        t.distinctLines = r["distinct_lines"]; t.maxLineCleans = r["max_line_cleans"]
        t.cleanedTables = r["cleaned_tables"]
        return t
    }

    /// Steps an upsert of four integers and returns the first column of its RETURNING row.
    private static func upsert(_ statement: Statement, _ a: Int64, _ b: Int64, _ c: Int64, _ d: Int64) throws -> Int64? {
        let h = statement.sqliteStatement
        sqlite3_bind_int64(h, 1, a)
        sqlite3_bind_int64(h, 2, b)
        sqlite3_bind_int64(h, 3, c)
        sqlite3_bind_int64(h, 4, d)
        var value: Int64?
        var rc = sqlite3_step(h)
        if rc == SQLITE_ROW {
            value = sqlite3_column_int64(h, 0)
            rc = sqlite3_step(h)
        }
        sqlite3_reset(h)
        guard rc == SQLITE_DONE else {
            throw StoreError(.sqlite, path: "", "writing the run's totals: SQLite error \(rc): \(String(cString: sqlite3_errmsg(sqlite3_db_handle(h))))")
        }
        return value
    }

    /// Statements that write the totals, prepared once per recording.
    struct Statements {
        let run: Statement
        let line: Statement
        let table: Statement
        let batch: Statement

        init(db: Database) throws {
            run = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO run_totals (run, through_seq, calls, descriptor_writes, clean_calls, lines_cleaned, mapped_bytes,
                    tlb_flush_all, tlb_flush_walk, tlb_inv_range, tlb_add_page, stale_descriptors, stale_reads, stale_tlb_hits,
                    distinct_lines, max_line_cleans, cleaned_tables)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            // The line's count after the batch: equal to the batch's cleans for a line new to the run.
            line = try db.makeStatement(sql: """
                INSERT INTO line_totals (run, tbl, line, cleans) VALUES (?, ?, ?, ?)
                ON CONFLICT (run, tbl, line) DO UPDATE SET cleans = cleans + excluded.cleans
                RETURNING cleans
                """)
            table = try db.makeStatement(sql: """
                INSERT INTO table_totals (run, tbl, cleans, lines) VALUES (?, ?, ?, ?)
                ON CONFLICT (run, tbl) DO UPDATE SET cleans = cleans + excluded.cleans, lines = lines + excluded.lines
                RETURNING cleans
                """)
            batch = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO batch_totals (run, through_seq, descriptor_writes, lines_cleaned) VALUES (?, ?, ?, ?)
                """)
        }
    }

    /// Writes the totals as of `events` committed events; the line counts start again from zero.
    /// The upserts go in key order (the B-tree's), bound and stepped on the
    /// raw statement handles: through GRDB's arguments they were 4% of a
    /// churn recording.
    mutating func write(run: Int64, events: Int64, calls: Int64, with s: Statements) throws {
        self.calls = calls
        // Lines first: they give the distinct lines and the most cleans of one.
        var tables: [Int64: (cleans: Int64, lines: Int64)] = [:]
        let lines = lineCleans.sorted { ($0.key.table, $0.key.line) < ($1.key.table, $1.key.line) }
        for (key, cleans) in lines {
            let after = try Self.upsert(s.line, run, key.table, key.line, cleans) ?? cleans
            let isNew = after == cleans
            if isNew { distinctLines += 1 }
            maxLineCleans = max(maxLineCleans, after)
            tables[key.table, default: (0, 0)].cleans += cleans
            if isNew { tables[key.table, default: (0, 0)].lines += 1 }
        }
        lineCleans.removeAll(keepingCapacity: true)
        for (table, t) in tables.sorted(by: { $0.key < $1.key }) {
            let after = try Self.upsert(s.table, run, table, t.cleans, t.lines) ?? t.cleans
            if after == t.cleans { cleanedTables += 1 }
        }
        try s.run.execute(arguments: [run, events, calls, descriptorWrites, cleanCalls, linesCleaned, mappedBytes,
                                      flushAll, flushWalk, invRange, addPage, staleDescriptors, staleReads, staleTLBHits,
                                      distinctLines, maxLineCleans, cleanedTables])
        if events > 0 { try s.batch.execute(arguments: [run, events, descriptorWrites, linesCleaned]) }
    }
}
