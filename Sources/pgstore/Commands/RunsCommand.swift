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

    func run() throws {
        let store: HistoryStore
        do { store = try HistoryStore(path: database.path, mode: .read) } catch { throw PgstoreError(error.description) }
        defer { store.close() }
        let runs: [RunInfo]
        do { runs = try store.runs() } catch { throw PgstoreError(error.description) }
        let table = Tabular(
            columns: ["run", "strategy", "config", "source", "status", "calls", "events", "started", "message"],
            rows: runs.map { r in
                [.int(r.id), .text(r.strategy.rawValue), .text(Self.describe(r.config)),
                 .text(r.sourceKind == .restore ? "restore of \(r.parentRun ?? 0):\(r.parentSeq ?? 0)" : r.source),
                 .text(r.effectiveStatus.rawValue), .int(r.calls), .int(r.events), .text(r.startedAt),
                 r.statusReason.map { .text($0) } ?? .null]
            })
        print(table.render(format))
    }

    static func describe(_ c: PageTableConfig) -> String {
        let sizes = c.pgsizeBitmap.map { " pgsizes=\(sizeList($0))" } ?? ""
        return "S\(c.stage.rawValue) \(c.granule) \(c.ias)/\(c.oas) \(c.coherentWalk ? "coherent" : "non-coherent") \(c.lineSize)B\(sizes)"
    }
}
