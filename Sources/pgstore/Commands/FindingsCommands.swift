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
        var paths: [Int64: [Int64: String]] = [:]
        var rows: [[Cell]] = []
        for f in findings {
            if paths[f.run] == nil { paths[f.run] = try Stores.run { try store.tablePaths(run: f.run) } }
            let path = f.table.flatMap { paths[f.run]?[$0] } ?? (f.table.map { $0 < 0 ? "(freed)" : "T#\($0)" } ?? "")
            rows.append([.int(f.run), .int(f.seq), .int(f.call), .text(f.kind), .text(f.iova), .text(path),
                         f.index.map { .int($0) } ?? .null, f.cpu.map { .text($0) } ?? .null, f.memory.map { .text($0) } ?? .null])
        }
        let table = Tabular(columns: ["run", "seq", "call", "finding", "iova", "table", "index", "cpu", "memory"], rows: rows)
        if format == .table && findings.isEmpty {
            print("no stale findings")
        } else {
            print(table.render(format))
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
                case .real(let d): return .real(d)
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
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show what one run cost and what went wrong in it (default: the last run).")

    @OptionGroup var database: DatabaseOption

    @Argument(help: "The run.")
    var runNumber: Int64?

    @Option(help: "Output format: \(TabularFormat.names).")
    var format: TabularFormat = .table

    func run() throws {
        let store = try Stores.read(database.path)
        defer { store.close() }
        let s = try Stores.run { () throws -> StrategySummary in
            let id = try runNumber ?? (store.runs().last?.id ?? { throw StoreError(.notFound, path: database.path, "has no runs") }())
            return try store.summary(of: id)
        }
        let table = Tabular(columns: ["figure", "value"], rows: CompareCommand.figures.map { name, get in [.text(name), get(s)] })
        print(table.render(format))
    }
}

/// `pgstore compare`: runs side by side, with ratios to the first.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare runs side by side, each figure with its ratio to the first run (default: every run)."
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "Runs to compare, the baseline first.")
    var runs: [Int64] = []

    @Option(help: "Output format: \(TabularFormat.names).")
    var format: TabularFormat = .table

    static var figures: [(String, (StrategySummary) -> Cell)] { [
        ("strategy", { .text($0.strategy) }),
        ("calls", { .int($0.calls) }),
        ("descriptor_writes", { .int($0.descriptorWrites) }),
        ("clean_calls", { .int($0.cleanCalls) }),
        ("lines_cleaned", { .int($0.linesCleaned) }),
        ("redundant_lines", { .int($0.redundantLines) }),
        ("lines_per_mapped_page", { .real($0.linesPerMappedPage) }),
        ("tlb_flush_all", { .int($0.flushAll) }),
        ("tlb_flush_walk", { .int($0.flushWalk) }),
        ("tlb_inv_range", { .int($0.leafInvalidations) }),
        ("tlb_add_page", { .int($0.addPage) }),
        ("stale_findings", { .int($0.staleFindings) }),
    ] }

    func run() throws {
        let store = try Stores.read(database.path)
        defer { store.close() }
        let summaries = try Stores.run { () throws -> [StrategySummary] in
            let ids = runs.isEmpty ? try store.runs().map(\.id) : runs
            if ids.isEmpty { throw StoreError(.notFound, path: database.path, "has no runs to compare") }
            return try ids.map { try store.summary(of: $0) }
        }
        let base = summaries[0]
        func ratio(_ v: Cell, _ b: Cell) -> Double? {
            let x = Self.number(v), y = Self.number(b)
            return y == 0 ? (x == 0 ? 1 : nil) : (x / y * 1000).rounded() / 1000
        }
        if format == .table {
            // One cell per figure: the value, and its ratio to the first run.
            let columns = ["run"] + Self.figures.map(\.0)
            let rows: [[Cell]] = summaries.map { s in
                [.int(s.run)] + Self.figures.map { name, get in
                    let v = get(s)
                    if name == "strategy" || s.run == base.run { return v }
                    return .text("\(v.display) (\(ratio(v, get(base)).map { String(format: "%.3gx", $0) } ?? "new"))")
                }
            }
            print(Tabular(columns: columns, rows: rows).render(format))
            return
        }
        let columns = ["run"] + Self.figures.flatMap { $0.0 == "strategy" ? [$0.0] : [$0.0, $0.0 + "_ratio"] }
        let rows: [[Cell]] = summaries.map { s in
            var row: [Cell] = [.int(s.run)]
            for (name, get) in Self.figures {
                let v = get(s)
                row.append(v)
                if name != "strategy" { row.append(ratio(v, get(base)).map { .real($0) } ?? .null) }
            }
            return row
        }
        print(Tabular(columns: columns, rows: rows).render(format))
    }

    static func number(_ c: Cell) -> Double {
        switch c {
        case .int(let v), .address(let v): return Double(v)
        case .real(let d): return d
        default: return 0
        }
    }
}
