import GRDB

/// What one run cost and what went wrong in it: the figures strategies are compared by.
public struct StrategySummary: Sendable, Hashable {
    public var run: Int64
    public var strategy: String
    public var calls: Int64
    public var descriptorWrites: Int64
    public var cleanCalls: Int64
    public var linesCleaned: Int64
    /// Distinct (table, line) pairs cleaned.
    public var distinctLines: Int64
    /// Cleans of a line beyond its first.
    public var redundantLines: Int64 { linesCleaned - distinctLines }
    public var maxCleansPerLine: Int64
    /// Bytes mapped by successful core map/map_sg calls.
    public var mappedBytes: Int64
    public var pageSize: Int64
    public var mappedPages: Int64 { pageSize > 0 ? mappedBytes / pageSize : 0 }
    /// As the view rounds it (4 decimals).
    public var linesPerMappedPage: Double
    public var flushAll: Int64
    public var flushWalk: Int64
    public var leafInvalidations: Int64
    public var addPage: Int64
    public var staleDescriptors: Int64
    public var staleReads: Int64
    public var staleTLBHits: Int64
    public var staleFindings: Int64 { staleDescriptors + staleReads + staleTLBHits }
}

extension HistoryStore {
    /// The summary of one run: from the totals the recorder kept (`run_totals`,
    /// migrations 0008 and 0011), which cost the same at any length; from
    /// the events through the `strategy_summary` view when a file has none.
    public func summary(of run: Int64) throws(StoreError) -> StrategySummary {
        let info = try self.run(run)
        if let kept = try keptSummary(info) { return kept }
        return try summaryFromEvents(of: run)
    }

    /// The summary read from `run_totals` (one row), when it covers the run's committed events.
    func keptSummary(_ info: RunInfo) throws(StoreError) -> StrategySummary? {
        let run = info.id
        return try read { db -> StrategySummary? in
            guard try db.tableExists("run_totals"),
                  let t = try Row.fetchOne(db, sql: """
                    SELECT t.*, r.events AS events FROM run_totals t JOIN runs r ON r.id = t.run WHERE t.run = ?
                    """, arguments: [run]),
                  (t["through_seq"] as Int64) == (t["events"] as Int64) else { return nil }
            let granule = Int64(info.config.granule.bytes)
            let linesCleaned: Int64 = t["lines_cleaned"], mappedBytes: Int64 = t["mapped_bytes"]
            // The view's own rounding, so both read the same.
            let perPage = try Double.fetchOne(db, sql: "SELECT round(CAST(? AS REAL) / max(1, ? / ?), 4)",
                                              arguments: [linesCleaned, mappedBytes, granule]) ?? 0
            return StrategySummary(
                run: run, strategy: info.label, calls: t["calls"], descriptorWrites: t["descriptor_writes"],
                cleanCalls: t["clean_calls"], linesCleaned: linesCleaned, distinctLines: t["distinct_lines"], maxCleansPerLine: t["max_line_cleans"],
                mappedBytes: (mappedBytes / granule) * granule, pageSize: granule, linesPerMappedPage: perPage,
                flushAll: t["tlb_flush_all"], flushWalk: t["tlb_flush_walk"], leafInvalidations: t["tlb_inv_range"], addPage: t["tlb_add_page"],
                staleDescriptors: t["stale_descriptors"], staleReads: t["stale_reads"], staleTLBHits: t["stale_tlb_hits"])
        }
    }

    /// The summary computed from the run's events through the `strategy_summary` view (docs/SCHEMA.md).
    public func summaryFromEvents(of run: Int64) throws(StoreError) -> StrategySummary {
        let info = try self.run(run)
        let found = try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM strategy_summary WHERE run = ?", arguments: [run])
        }
        guard let r = found else { throw StoreError(.notFound, path: path, "has no run \(run)") }
        let lines: Int64 = r["lines_cleaned"], redundant: Int64 = r["redundant_lines"], maxPerLine: Int64 = r["max_cleans_per_line"]
        return StrategySummary(
            run: run, strategy: info.label, calls: r["calls"], descriptorWrites: r["descriptor_writes"],
            cleanCalls: r["clean_calls"], linesCleaned: lines, distinctLines: lines - redundant, maxCleansPerLine: maxPerLine,
            mappedBytes: (r["mapped_pages"] as Int64) * Int64(info.config.granule.bytes), pageSize: Int64(info.config.granule.bytes),
            linesPerMappedPage: r["lines_per_mapped_page"],
            flushAll: r["tlb_flush_all"], flushWalk: r["tlb_flush_walk"], leafInvalidations: r["tlb_inv_range"], addPage: r["tlb_add_page"],
            staleDescriptors: r["stale_descriptors"], staleReads: r["stale_reads"], staleTLBHits: r["stale_tlb_hits"])
    }

    /// Every finding of a run (or of every run), in order.
    public func findings(run: Int64?, through seq: Int64? = nil) throws(StoreError) -> [Finding] {
        try read { db in
            var sql = "SELECT * FROM findings"
            var args: StatementArguments = []
            if let run {
                sql += " WHERE run = ?"
                args += [run]
                if let seq {
                    sql += " AND seq <= ?"
                    args += [seq]
                }
            }
            sql += " ORDER BY run, seq"
            return try Row.fetchAll(db, sql: sql, arguments: args).map(Finding.init(row:))
        }
    }

    /// The first `limit` findings of a run in order, and how many it has.
    static func findings(run: Int64, limit: Int, db: Database) throws -> (shown: [Finding], total: Int) {
        let shown = try Row.fetchAll(db, sql: "SELECT * FROM findings WHERE run = ? ORDER BY run, seq LIMIT ?", arguments: [run, limit]).map(Finding.init(row:))
        let total = shown.count < limit ? shown.count : try Int.fetchOne(db, sql: "SELECT count(*) FROM findings WHERE run = ?", arguments: [run]) ?? 0
        return (shown, total)
    }

    /// The lost-events markers of a run's trace (every run's when nil), in order.
    public func traceGaps(run: Int64?) throws(StoreError) -> [TraceGap] {
        try read { db in
            let sql = "SELECT run, seq, source_line, cpu, lost, marker FROM trace_gaps" + (run == nil ? "" : " WHERE run = ?") + " ORDER BY run, seq"
            return try Row.fetchAll(db, sql: sql, arguments: run.map { [$0] } ?? []).map { row in
                TraceGap(run: row["run"], seq: row["seq"], line: row["source_line"], cpu: row["cpu"], lost: row["lost"], marker: row["marker"])
            }
        }
    }
}

/// A place where the trace a run was recorded from lost events (`trace_gaps`).
public struct TraceGap: Sendable, Hashable {
    public var run: Int64
    /// The last event recorded before the marker.
    public var seq: Int64
    public var line: Int64
    public var cpu: Int64
    public var lost: Int64?
    public var marker: String
}

/// A stale descriptor, stale read or stale TLB hit.
public struct Finding: Sendable, Hashable {
    public var run: Int64
    public var seq: Int64
    public var call: Int64
    public var kind: String
    public var iova: String
    public var table: Int64?
    public var index: Int64?
    public var cpu: String?
    public var memory: String?
    /// It comes after a lost-events marker of the run's trace: the lost events may have changed it.
    public var afterLostEvents: Bool = false
}

extension Finding {
    /// A row of the `findings` view.
    init(row: Row) {
        self.init(run: row["run"], seq: row["seq"], call: row["call"], kind: row["kind"], iova: row["iova"],
                  table: row["tbl"], index: row["idx"], cpu: row["cpu"], memory: row["memory"],
                  afterLostEvents: (row["after_lost_events"] as Int64?) == 1)
    }
}
