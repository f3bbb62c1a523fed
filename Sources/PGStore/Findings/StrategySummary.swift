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
    public var linesPerMappedPage: Double { mappedPages > 0 ? Double(linesCleaned) / Double(mappedPages) : 0 }
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
    /// The summary of one run, computed from its rows.
    public func summary(of run: Int64) throws(StoreError) -> StrategySummary {
        let info = try self.run(run)
        return try read { db in
            func one(_ sql: String) throws -> Int64 { try Int64.fetchOne(db, sql: sql, arguments: [run]) ?? 0 }
            let perLine = try Row.fetchOne(db, sql: """
                WITH RECURSIVE line(tbl, n, last) AS (
                    SELECT tbl, first_line, first_line + lines - 1 FROM cleans WHERE run = ?1 AND reason = 0
                    UNION ALL
                    SELECT tbl, n + 1, last FROM line WHERE n < last
                ), per AS (SELECT count(*) AS times FROM line GROUP BY tbl, n)
                SELECT count(*) AS distinct_lines, coalesce(max(times), 0) AS max_times FROM per
                """, arguments: [run])
            return StrategySummary(
                run: run, strategy: info.strategy.rawValue,
                calls: try one("SELECT count(*) FROM calls WHERE run = ? AND depth = 0"),
                descriptorWrites: try one("SELECT count(*) FROM writes WHERE run = ?"),
                cleanCalls: try one("SELECT count(*) FROM cleans WHERE run = ? AND reason = 0"),
                linesCleaned: try one("SELECT coalesce(sum(lines), 0) FROM cleans WHERE run = ? AND reason = 0"),
                distinctLines: perLine?["distinct_lines"] ?? 0,
                maxCleansPerLine: perLine?["max_times"] ?? 0,
                mappedBytes: try one("SELECT coalesce(sum(value), 0) FROM calls WHERE run = ? AND depth = 0 AND kind IN (6, 7) AND ret = 0"),
                pageSize: Int64(info.config.granule.bytes),
                flushAll: try one("SELECT count(*) FROM tlb_ops WHERE run = ? AND op = 0"),
                flushWalk: try one("SELECT count(*) FROM tlb_ops WHERE run = ? AND op = 1"),
                leafInvalidations: try one("SELECT count(*) FROM tlb_ops WHERE run = ? AND op = 2"),
                addPage: try one("SELECT count(*) FROM tlb_ops WHERE run = ? AND op = 3"),
                staleDescriptors: try one("SELECT count(*) FROM exposures WHERE run = ?"),
                staleReads: try one("SELECT count(*) FROM accesses WHERE run = ? AND stale_read = 1"),
                staleTLBHits: try one("SELECT count(*) FROM accesses WHERE run = ? AND stale_tlb = 1"))
        }
    }
}
