import ArgumentParser
import Foundation
import PGEngine
import PGStore

/// `pgstore stale`: every finding, exit 1 when there is any.
struct StaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stale",
        abstract: "List stale descriptors, stale device reads and stale TLB hits.",
        discussion: """
        A stale descriptor is one the device would read differently from what the CPU wrote when an \
        IOMMU-core map returned; a stale read is a device walk that read such a descriptor; a stale TLB \
        hit is an access served by a TLB entry that no longer matches the tables. Give a run (all its \
        findings) or a point (findings up to it); default: every run. Exit status 1 when there is any finding.
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "A run number or a point (default: every run).")
    var target: String?

    @Option(help: "Output format: \(TabularFormat.names).")
    var format: TabularFormat = .table

    func run() throws {
        let store = try Stores.read(database.path)
        defer { store.close() }
        let findings: [Finding] = try Stores.run {
            guard let target else { return try store.findings(run: nil) }
            if let run = Int64(target) {
                _ = try store.run(run)
                return try store.findings(run: run)
            }
            let p = try store.resolve(target)
            return try store.findings(run: p.run, through: p.seq)
        }
        let gaps = try Stores.run { () throws(StoreError) -> [TraceGap] in
            if let target, let run = Int64(target) { return try store.traceGaps(run: run) }
            if let target { return try store.traceGaps(run: try store.resolve(target).run) }
            return try store.traceGaps(run: nil)
        }
        var paths: [Int64: [Int64: String]] = [:]
        var rows: [[Cell]] = []
        // The column appears in a table only when a trace lost events; csv and json always have it.
        let flagColumn = format != .table || !gaps.isEmpty
        for f in findings {
            if paths[f.run] == nil { paths[f.run] = try Stores.run { try store.tablePaths(run: f.run) } }
            let path = f.table.flatMap { paths[f.run]?[$0] } ?? (f.table.map { $0 < 0 ? "(freed)" : "T#\($0)" } ?? "")
            var row: [Cell] = [.int(f.run), .int(f.seq), .int(f.call), .text(f.kind), .text(f.iova), .text(path),
                               f.index.map { .int($0) } ?? .null, f.cpu.map { .text($0) } ?? .null, f.memory.map { .text($0) } ?? .null]
            if flagColumn { row.append(format == .json ? .int(f.afterLostEvents ? 1 : 0) : .text(f.afterLostEvents ? "yes" : "no")) }
            rows.append(row)
        }
        var columns = ["run", "seq", "call", "finding", "iova", "table", "index", "cpu", "memory"]
        if flagColumn { columns.append("after_lost_events") }
        let table = Tabular(columns: columns, rows: rows)
        if format == .table && findings.isEmpty {
            print("no stale findings")
        } else {
            print(table.render(format))
        }
        if format == .table {
            // Findings can be missing, or wrong, after a trace lost events.
            for (run, list) in Dictionary(grouping: gaps, by: \.run).sorted(by: { $0.key < $1.key }) {
                let first = list[0]
                print("run \(run): its trace lost events \(list.count == 1 ? "once" : "\(list.count) times") (first at input line \(first.line), "
                      + "after seq \(first.seq): \(first.marker)); findings after it may be incomplete")
            }
        }
        if !findings.isEmpty { throw ExitCode(1) }
    }
}

/// `pgstore query`: read-only SQL.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run SQL over a history, read-only.",
        discussion: """
        The tables and views are documented in docs/SCHEMA.md. A statement that would write (INSERT, \
        UPDATE, DELETE, CREATE, DROP, ALTER, ATTACH, a writing PRAGMA...) is refused with status 2 and \
        the file is left unchanged. Integer columns that hold addresses or descriptors print in hex.
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "The SQL.")
    var sql: String

    @Option(help: "Output format: \(TabularFormat.names).")
    var format: TabularFormat = .table

    static let addressColumns: Set<String> = ["iova", "paddr", "pa", "old", "new", "value", "cpu", "memory", "output", "stale_cpu",
                                              "stale_memory", "iova_base", "iova_end", "start", "end"]

    func run() throws {
        let store = try Stores.read(database.path)
        store.close()
        let result = try Stores.run { try ReadOnlyQuery.run(sql, path: database.path) }
        let rows: [[Cell]] = result.rows.map { row in
            zip(result.columns, row).map { column, value in
                switch value {
                case .integer(let v): return Self.addressColumns.contains(column.lowercased()) ? .address(v) : .int(v)
                case .real(let d): return .sqlReal(d)
                case .text(let s): return .text(s)
                case .blob(let b): return .text("<\(b.count) bytes>")
                case .null: return .null
                }
            }
        }
        print(Tabular(columns: result.columns, rows: rows).render(format))
    }
}

/// `pgstore stats`: one run's summary.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show what one run cost and what went wrong in it (default: the last run).",
        discussion: "The run's status comes first: the figures of a failed or incomplete run are those of its recorded part only.")

    @OptionGroup var database: DatabaseOption

    @Argument(help: "The run.")
    var runNumber: Int64?

    @Option(help: "Output format: \(TabularFormat.names).")
    var format: TabularFormat = .table

    func run() throws {
        let store = try Stores.read(database.path)
        defer { store.close() }
        let (info, s) = try Stores.run { () throws -> (RunInfo, StrategySummary) in
            let id = try runNumber ?? (store.runs().last?.id ?? { throw StoreError(.notFound, path: database.path, "has no runs") }())
            return (try store.run(id), try store.summary(of: id))
        }
        // Status first: a failed or interrupted run's figures are partial.
        let status: [[Cell]] = [
            [.text("run"), .int(info.id)],
            [.text("status"), .text(info.effectiveStatus.rawValue)],
            [.text("message"), info.statusReason.map { .text($0) } ?? .null],
            [.text("workload"), .text(WorkloadText.describe(WorkloadGroups.group([info])[0]))],
        ]
        let table = Tabular(columns: ["figure", "value"], rows: status + CompareCommand.figures.map { name, get in [.text(name), get(s)] })
        print(table.render(format))
    }
}
