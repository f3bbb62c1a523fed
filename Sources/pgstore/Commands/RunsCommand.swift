import ArgumentParser
import PGEngine
import PGStore

/// `pgstore runs`: the runs in a history file.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs in a history file."
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: "Output format: \(TabularFormat.names).")
    var format: TabularFormat = .table

    @Flag(help: "List each run's segments instead: the first record and each record --continue, with its source, event range and how it ended.")
    var segments = false

    func run() throws {
        let store: HistoryStore
        do { store = try HistoryStore(path: database.path, mode: .read) } catch { throw PgstoreError(error.description) }
        defer { store.close() }
        let runs: [RunInfo]
        let segmentsByRun: [Int64: [RunSegment]]
        do {
            runs = try store.runs()
            segmentsByRun = try store.segments()
        } catch { throw PgstoreError(error.description) }
        if segments {
            let rows: [[Cell]] = runs.flatMap { r in
                (segmentsByRun[r.id] ?? []).map { s in
                    [.int(s.run), .int(s.segment), .text(s.sourceKind.rawValue), .text(s.source), .text(s.sourceSHA256),
                     .text(s.status.rawValue), .int(s.startSeq), .int(s.endSeq), .int(s.calls), .int(s.events),
                     .text(s.startedAt), s.endedAt.map { .text($0) } ?? .null, s.message.map { .text($0) } ?? .null]
                }
            }
            print(Tabular(columns: ["run", "segment", "source_kind", "source", "source_sha256", "status", "start_seq", "end_seq",
                                    "calls", "events", "started", "ended", "message"], rows: rows).render(format))
            return
        }
        let table = Tabular(
            columns: ["run", "strategy", "config", "source", "status", "calls", "events", "segments", "started", "message"],
            rows: runs.map { r in
                [.int(r.id), .text(r.label), .text(Self.describe(r.config)),
                 .text(r.sourceKind == .restore ? "restore of \(r.parentRun ?? 0):\(r.parentSeq ?? 0)" : r.source),
                 .text(r.effectiveStatus.rawValue), .int(r.calls), .int(r.events), .int(Int64(segmentsByRun[r.id]?.count ?? 0)),
                 .text(r.startedAt), r.statusReason.map { .text($0) } ?? .null]
            })
        print(table.render(format))
    }

    static func describe(_ c: PageTableConfig) -> String {
        let sizes = c.pgsizeBitmap.map { " pgsizes=\(sizeList($0))" } ?? ""
        return "S\(c.stage.rawValue) \(c.granule) \(c.ias)/\(c.oas) \(c.coherentWalk ? "coherent" : "non-coherent") \(c.lineSize)B\(sizes)"
    }
}
