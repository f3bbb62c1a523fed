import PGStore

/// How commands name a workload group and a run's status, the same in compare,
/// stats and the report.
enum WorkloadText {
    /// `ftrace trace.txt; S1 4K 48/48 non-coherent 64B`: where the runs' calls came
    /// from and the configuration they share.
    static func describe(_ group: WorkloadGroup) -> String {
        let first = group.runs[0]
        // The coherent strategy forces its walk: the group's walk is that of its other runs.
        let shown = group.runs.first { !$0.strategy.forcesCoherentWalk } ?? first
        var config = RunsCommand.describe(shown.config)
        if shown.config.noWarn { config += " no-warn" }
        if shown.config.nonSecure { config += " non-secure" }
        let source = first.sourceKind == .restore
            ? "restore of \(first.parentRun ?? 0):\(first.parentSeq ?? 0)" : "\(first.sourceKind.rawValue) \(first.source)"
        return "\(source); \(config)"
    }

    /// What the ratios of a group are against, or why it has none.
    static func baselineNote(_ group: WorkloadGroup) -> String {
        if let b = group.baseline { return "ratios to run \(b.id), the first complete run of this workload" }
        return "no ratios: no run of this workload is complete"
    }

    /// `run 1 failed: line 2: ...; its figures are partial and have no ratios`, for each run that is not complete.
    static func statusNotes(_ group: WorkloadGroup) -> [String] {
        group.runs.filter { $0.effectiveStatus != .complete }.map { r in
            "run \(r.id) \(r.effectiveStatus.rawValue): \(r.statusReason ?? "")"
                + (group.baseline != nil ? "; its figures are partial and have no ratios" : "; its figures are partial")
        }
    }
}
