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
            let paths = try tablePaths(run: id)
            let lastSeq = try self.lastSeq(of: id)
            let geometry = try? Geometry(info.config)
            let data = try read { db -> ReportData.Run in
                // Heatmap: cleans per line, most-cleaned tables first.
                var perTable: [Int64: [(Int, Int64)]] = [:]
                // From the totals the recorder kept (migration 0008): the same
                // counts as clean_lines grouped by line, without reading the events.
                let rows = try Row.fetchCursor(db, sql: "SELECT tbl, line, cleans AS times FROM line_totals WHERE run = ?", arguments: [id])
                while let r = try rows.next() { perTable[r["tbl"], default: []].append((r["line"], r["times"])) }
                let allocs = try Row.fetchAll(db, sql: "SELECT tbl, level, iova_base, bytes FROM table_allocs WHERE \(EventKey.idsOfRun1)", arguments: [id])
                var meta: [Int64: (Int, UInt64, Int64)] = [:]
                for a in allocs { meta[a["tbl"]] = (a["level"], UInt64(bitPattern: a["iova_base"] as Int64), a["bytes"]) }
                let ranked = perTable.map { ($0.key, $0.value, $0.value.reduce(Int64(0)) { $0 + $1.1 }) }
                    .sorted { $0.2 != $1.2 ? $0.2 > $1.2 : $0.0 < $1.0 }
                var heat: [ReportData.HeatTable] = []
                var cells = 0, omittedTables = 0, omittedCells = 0
                for (tbl, lineCells, total) in ranked {
                    if heat.count >= maxTables || cells + lineCells.count > maxCells {
                        omittedTables += 1
                        omittedCells += lineCells.count
                        continue
                    }
                    cells += lineCells.count
                    let (level, base, bytes) = meta[tbl] ?? (3, 0, Int64(info.config.granule.bytes))
                    let span = geometry.map { UInt64(bytes / 8) << UInt64($0.shift(level)) } ?? 0
                    heat.append(ReportData.HeatTable(table: tbl, path: paths[tbl] ?? "T#\(tbl)", level: level, iovaStart: base,
                                                     iovaEnd: base &+ span &- 1, lines: max(1, Int(bytes) / info.config.lineSize),
                                                     cells: lineCells.sorted { $0.0 < $1.0 }.map { (line: $0.0, times: $0.1) }, total: total))
                }
                // Timeline: cumulative descriptor writes and lines cleaned.
                let timeline = try Self.timeline(run: id, lastSeq: lastSeq, points: timelinePoints,
                                              countLimit: timelineCountLimit, db: db)
                return ReportData.Run(info: info, summary: summary, heat: heat, omittedTables: omittedTables, omittedCells: omittedCells,
                                      timeline: timeline, lastSeq: lastSeq, findings: [], omittedFindings: 0, paths: paths,
                                      segments: [])
            }
            var run = data
            run.segments = try segments(of: id)
            let findings = try self.findings(run: id)
            run.findings = Array(findings.prefix(maxFindings))
            run.omittedFindings = max(0, findings.count - maxFindings)
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
        for r in try Row.fetchAll(db, sql: "SELECT (seq * ?2) / ?3 AS b, count(*) AS n FROM writes WHERE \(EventKey.idsOfRun1) GROUP BY b",
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
