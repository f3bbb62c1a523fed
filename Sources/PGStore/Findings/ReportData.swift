import GRDB
import PGEngine

/// Everything the HTML report shows, read through the documented tables and
/// views (docs/SCHEMA.md), so every number can be reproduced with `pgstore query`.
public struct ReportData: Sendable {
    /// Cleans per cache line of one table (`clean_lines`).
    public struct HeatTable: Sendable {
        public var table: Int64
        public var path: String
        public var level: Int
        public var iovaStart: UInt64
        public var iovaEnd: UInt64
        /// Cache lines the table spans.
        public var lines: Int
        /// (line, times cleaned) for every line cleaned at least once.
        public var cells: [(line: Int, times: Int64)]
        public var total: Int64
    }

    public struct TimelinePoint: Sendable {
        public var seq: Int64
        public var writes: Int64
        public var lines: Int64
    }

    public struct Run: Sendable {
        public var info: RunInfo
        public var summary: StrategySummary
        public var heat: [HeatTable]
        public var omittedTables: Int
        public var omittedCells: Int
        public var timeline: [TimelinePoint]
        public var lastSeq: Int64
        public var findings: [Finding]
        public var omittedFindings: Int
        public var paths: [Int64: String]
        /// The run's recording sessions (`run_segments`), in order.
        public var segments: [RunSegment]
    }

    public var runs: [Run]
}

extension HistoryStore {
    /// The report's data for `runs` (all runs when empty). Heatmaps keep the most
    /// cleaned tables first, up to `maxTables` tables and `maxCells` cells per run.
    public func reportData(runs ids: [Int64], maxTables: Int = 40, maxCells: Int = 8_000, timelinePoints: Int = 100,
                           timelineCountLimit: Int64 = 1_000_000, maxFindings: Int = 500) throws(StoreError) -> ReportData {
        let chosen = ids.isEmpty ? try runs().map(\.id) : ids
        guard !chosen.isEmpty else { throw StoreError(.notFound, path: path, "has no runs to report on") }
        var out: [ReportData.Run] = []
        for id in chosen {
            let info = try run(id)
            let summary = try summary(of: id)
            let lastSeq = try self.lastSeq(of: id)
            let geometry = try? Geometry(info.config)
            let data = try read { db -> ReportData.Run in
                // Heatmap: the most-cleaned tables first, from the totals the
                // recorder kept (migrations 0008, 0011: the counts clean_lines
                // gives, without reading the events), down to the first table
                // that would pass the cell limit.
                var heat: [ReportData.HeatTable] = []
                var cells = 0
                let ranked = try Row.fetchCursor(db, sql: "SELECT tbl, cleans, lines FROM table_totals WHERE run = ? ORDER BY cleans DESC, tbl",
                                                 arguments: [id])
                var chosen: [(table: Int64, total: Int64)] = []
                while chosen.count < maxTables, let r = try ranked.next() {
                    let lineCount: Int = r["lines"]
                    if cells + lineCount > maxCells { break }
                    cells += lineCount
                    chosen.append((r["tbl"], r["cleans"]))
                }
                let findings = try Self.findings(run: id, limit: maxFindings, db: db)
                let paths = try Self.tablePaths(run: id, of: chosen.map(\.table) + findings.shown.compactMap(\.table), db: db)
                    ?? Self.tablePaths(run: id, db: db, path: path)
                for (tbl, total) in chosen {
                    let lineCells = try Row.fetchAll(db, sql: "SELECT line, cleans FROM line_totals WHERE run = ? AND tbl = ? ORDER BY line",
                                                     arguments: [id, tbl]).map { (line: $0["line"] as Int, times: $0["cleans"] as Int64) }
                    // run_tables holds the tables a run inherited (a restored
                    // run's) as well as those it allocated; only the latter
                    // have an allocation to give their size.
                    let table = try Row.fetchOne(db, sql: """
                        SELECT r.level, r.iova_base, a.bytes FROM run_tables r
                        LEFT JOIN table_allocs a ON a.run = r.run AND a.tbl = r.tbl
                        WHERE r.run = ? AND r.tbl = ?
                        """, arguments: [id, tbl])
                    let level: Int = table?["level"] ?? 3
                    let base = UInt64(bitPattern: table?["iova_base"] ?? 0)
                    let rootBytes = geometry.map { level == $0.startLevel ? Int64($0.rootBytes) : nil } ?? nil
                    let bytes: Int64 = table?["bytes"] ?? rootBytes ?? Int64(info.config.granule.bytes)
                    let span = geometry.map { UInt64(bytes / 8) << UInt64($0.shift(level)) } ?? 0
                    heat.append(ReportData.HeatTable(table: tbl, path: paths[tbl] ?? "T#\(tbl)", level: level, iovaStart: base,
                                                     iovaEnd: base &+ span &- 1, lines: max(1, Int(bytes) / info.config.lineSize),
                                                     cells: lineCells, total: total))
                }
                let kept = try Row.fetchOne(db, sql: "SELECT distinct_lines, cleaned_tables FROM run_totals WHERE run = ?", arguments: [id])
                let omittedTables = max(0, (kept?["cleaned_tables"] ?? 0) - heat.count)
                let omittedCells = max(0, (kept?["distinct_lines"] ?? 0) - cells)
                // Timeline: cumulative descriptor writes and lines cleaned.
                let timeline = try Self.timeline(run: id, lastSeq: lastSeq, points: timelinePoints,
                                              countLimit: timelineCountLimit, db: db)
                return ReportData.Run(info: info, summary: summary, heat: heat, omittedTables: omittedTables, omittedCells: omittedCells,
                                      timeline: timeline, lastSeq: lastSeq, findings: findings.shown,
                                      omittedFindings: findings.total - findings.shown.count, paths: paths, segments: [])
            }
            var run = data
            run.segments = try segments(of: id)
            out.append(run)
        }
        return ReportData(runs: out)
    }
}

extension HistoryStore {
    /// Cumulative writes and lines cleaned along a run. A run with at least
    /// `points` committed batches gets `points` even steps read from the totals
    /// kept at each batch (`batch_totals`; a step's figure is that of the last
    /// batch at or before it). A run of at most `countLimit` events with fewer
    /// batches counts its events into even steps. A longer run with fewer
    /// batches (4.5M events are 90 batches of 50,000) gets one point per batch:
    /// counting its events cost 0.7 s there, where the totals cost milliseconds.
    static func timeline(run id: Int64, lastSeq: Int64, points: Int, countLimit: Int64 = 1_000_000,
                         db: Database) throws -> [ReportData.TimelinePoint] {
        let buckets = Int64(max(1, points))
        let span = max(lastSeq, 1)
        var timeline: [ReportData.TimelinePoint] = [ReportData.TimelinePoint(seq: 0, writes: 0, lines: 0)]
        let batches = try Row.fetchAll(db, sql: "SELECT through_seq, descriptor_writes, lines_cleaned FROM batch_totals WHERE run = ? ORDER BY through_seq",
                                       arguments: [id])
        if batches.count >= Int(buckets) {
            var k = 0
            var w: Int64 = 0, l: Int64 = 0
            for b in 0...Int(buckets) {
                let end = min(span, (Int64(b) + 1) * span / buckets)
                while k < batches.count && (batches[k]["through_seq"] as Int64) <= end {
                    w = batches[k]["descriptor_writes"]
                    l = batches[k]["lines_cleaned"]
                    k += 1
                }
                timeline.append(ReportData.TimelinePoint(seq: end, writes: w, lines: l))
            }
            return timeline
        }
        if lastSeq > countLimit && !batches.isEmpty {
            for b in batches {
                timeline.append(ReportData.TimelinePoint(seq: b["through_seq"], writes: b["descriptor_writes"], lines: b["lines_cleaned"]))
            }
            return timeline
        }
        var writes = [Int64](repeating: 0, count: Int(buckets) + 1), lines = [Int64](repeating: 0, count: Int(buckets) + 1)
        for r in try Row.fetchAll(db, sql: "SELECT ((id - (?1 << \(EventKey.seqBits))) * ?2) / ?3 AS b, count(*) AS n FROM write_rows WHERE \(EventKey.idsOfRun1) GROUP BY b",
                                  arguments: [id, buckets, span]) {
            writes[min(Int(buckets), r["b"])] += r["n"]
        }
        for r in try Row.fetchAll(db, sql: "SELECT (seq * ?2) / ?3 AS b, sum(lines) AS n FROM cleans WHERE \(EventKey.idsOfRun1) AND reason = 0 GROUP BY b",
                                  arguments: [id, buckets, span]) {
            lines[min(Int(buckets), r["b"])] += r["n"]
        }
        var w: Int64 = 0, l: Int64 = 0
        for b in 0...Int(buckets) {
            w += writes[b]
            l += lines[b]
            timeline.append(ReportData.TimelinePoint(seq: min(span, (Int64(b) + 1) * span / buckets), writes: w, lines: l))
        }
        return timeline
    }
}
