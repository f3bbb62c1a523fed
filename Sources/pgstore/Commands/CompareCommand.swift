import ArgumentParser
import PGStore

/// `pgstore compare`: runs side by side, grouped by workload, each figure with
/// its ratio to the first complete run of its workload.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare runs side by side, grouped by workload, with ratios to each workload's first complete run (default: every run).",
        discussion: """
        Runs are compared only with runs of the same workload: the same input bytes (or generator \
        spec) under the same configuration; only the strategy differs. Each workload's figures are \
        divided by those of its first complete run, in the order the runs are given. A failed or \
        incomplete run is shown with its status and why, and without ratios (its figures cover only \
        what was recorded); a workload with no complete run has no ratios. A ratio of 0 to 0 shows \
        as –, of a figure to a baseline of 0 as new (null in CSV and JSON).
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "Runs to compare (default: every run); each workload's first complete run among them is its baseline.")
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

    /// The figures that have ratios (all but the strategy's name).
    static var measured: [(String, (StrategySummary) -> Cell)] { figures.filter { $0.0 != "strategy" } }

    func run() throws {
        let store = try Stores.read(database.path)
        defer { store.close() }
        let (groups, summaries) = try Stores.run { () throws -> ([WorkloadGroup], [Int64: StrategySummary]) in
            let infos = runs.isEmpty ? try store.runs() : try runs.map { try store.run($0) }
            if infos.isEmpty { throw StoreError(.notFound, path: database.path, "has no runs to compare") }
            var summaries: [Int64: StrategySummary] = [:]
            for r in infos { summaries[r.id] = try store.summary(of: r.id) }
            return (WorkloadGroups.group(infos), summaries)
        }
        if format == .table {
            print(groups.map { text($0, summaries, several: groups.count > 1) }.joined(separator: "\n\n"))
            return
        }
        let columns = ["run", "workload", "strategy", "status", "message", "baseline"]
            + Self.measured.flatMap { [$0.0, $0.0 + "_ratio"] }
        var rows: [[Cell]] = []
        for g in groups {
            for r in g.runs {
                let s = summaries[r.id]!
                var row: [Cell] = [.int(r.id), .int(Int64(g.number)), .text(s.strategy), .text(r.effectiveStatus.rawValue),
                                   r.statusReason.map { .text($0) } ?? .null, g.baseline.map { .int($0.id) } ?? .null]
                for (_, get) in Self.measured {
                    row.append(get(s))
                    row.append(Self.ratio(get, r, g, summaries)?.number.map { .real($0) } ?? .null)
                }
                rows.append(row)
            }
        }
        print(Tabular(columns: columns, rows: rows).render(format))
    }

    /// A figure's ratio to the group's baseline; nil when the run has no ratios.
    static func ratio(_ get: (StrategySummary) -> Cell, _ run: RunInfo, _ group: WorkloadGroup,
                      _ summaries: [Int64: StrategySummary]) -> Ratio? {
        guard group.hasRatios(run), let base = group.baseline, let s = summaries[run.id], let b = summaries[base.id] else { return nil }
        return Ratio(number(get(s)), baseline: number(get(b)))
    }

    /// One workload: a heading when there are several, its table (each figure with its
    /// ratio, but the baseline's own), what the ratios are against, and its runs that are not complete.
    func text(_ g: WorkloadGroup, _ summaries: [Int64: StrategySummary], several: Bool) -> String {
        let columns = ["run", "strategy", "status"] + Self.measured.map(\.0)
        let rows: [[Cell]] = g.runs.map { r in
            let s = summaries[r.id]!
            return [.int(r.id), .text(s.strategy), .text(r.effectiveStatus.rawValue)] + Self.measured.map { _, get in
                let v = get(s)
                guard r.id != g.baseline?.id, let ratio = Self.ratio(get, r, g, summaries) else { return v }
                return .text("\(v.display) (\(ratio.text(times: "x")))")
            }
        }
        var lines: [String] = []
        if several { lines.append("workload \(g.number): \(WorkloadText.describe(g))") }
        lines.append(Tabular(columns: columns, rows: rows).render(.table))
        lines.append(WorkloadText.baselineNote(g))
        lines += WorkloadText.statusNotes(g)
        return lines.joined(separator: "\n")
    }

    static func number(_ c: Cell) -> Double {
        switch c {
        case .int(let v), .address(let v): return Double(v)
        case .real(let d), .sqlReal(let d): return d
        default: return 0
        }
    }
}
