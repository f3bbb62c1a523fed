import ArgumentParser
import Foundation
import PGEngine
import PGStore

/// `pgstore record`: a workload into a history file, one run per strategy.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record a workload into a history file: one run per strategy.",
        discussion: """
        INPUT is a .pgs script or a Linux ftrace text log of iommu:map and iommu:unmap events (the \
        kernel's trace file or `trace-cmd report` output; recognised by its content, or forced with \
        --from). Instead of INPUT, --generate makes a workload:
          sg:pages=N[,pa=contiguous|random][,seed=S]  one scatter-gather list of N pages (the seed thread's case)
          churn:ops=N[,seed=S]                         random map/unmap of mixed sizes over a bounded IOVA space
          dmabench:loops=N[,size=S]                    map/unmap loops of one buffer, like dma_map_benchmark
        Events are committed in batches; another process (the sqlite3 shell, pgstore query) can read \
        while a record runs. Ctrl-C stops cleanly and marks the run incomplete. With several \
        strategies, snapshot names in a script get the strategy appended (NAME/strategy).
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "A .pgs script or an ftrace log.")
    var input: String?

    @Option(help: ArgumentHelp("Generate the workload instead of reading INPUT (see above).", valueName: "SPEC"))
    var generate: String?

    @Option(help: ArgumentHelp("Sync strategies, comma-separated: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")); or all.", valueName: "S[,S...]"))
    var strategy: String?

    @Option(help: ArgumentHelp("What INPUT is: script or ftrace (default: recognised by content).", valueName: "KIND"))
    var from: String?

    @Flag(help: "For ftrace logs: count malformed iommu lines and calls that fail in replay as warnings instead of stopping.")
    var lenient = false

    @Option(help: "Events per committed batch.")
    var batch: Int = 50_000

    @Flag(name: .customLong("kernel-errors"), help: "Skip pgstore's checks of alignment, page sizes and address ranges in scripts.")
    var kernelErrors = false

    @Option(name: .customLong("continue"), help: ArgumentHelp("Append the calls to this run (a restored one, say) instead of starting new runs.", valueName: "RUN"))
    var continueRun: Int64?

    @Option(name: .customLong("checkpoint-every"), help: "Write a checkpoint after this many events (at the next boundary between calls).")
    var checkpointEvery: Int64 = RunRecording.defaultCheckpointEvery

    @OptionGroup var options: ConfigOptions

    func run() throws {
        guard batch > 0 else { throw PgstoreError("--batch \(batch): must be at least 1") }
        guard checkpointEvery > 0 else { throw PgstoreError("--checkpoint-every \(checkpointEvery): must be at least 1") }
        let workload = try WorkloadInput.load(path: input, generate: generate, from: from, lenient: lenient)
        if let run = continueRun { return try continueRecording(run, workload: workload) }
        let merged = try options.resolve(workload.scriptConfig)
        let config = merged.applied(to: .default)
        let strategies = try Self.strategies(strategy, default: merged.strategy ?? .eager)
        let geometry: Geometry
        do { geometry = try Geometry(config) } catch {
            var script: Script?
            if case .script(let s) = workload.kind { script = s }
            throw options.refusal(error, script: script)
        }
        if !kernelErrors { try workload.validate(geometry: geometry) }
        let steps = try workload.steps(geometry: geometry)

        if case .ftrace(let log) = workload.kind {
            var note = "\(workload.source.description): \(log.events.count) iommu events"
            note += "; skipped \(log.otherEvents) other events and \(log.skippedLines) other lines"
            if !log.warnings.isEmpty { note += "; \(log.warnings.count) malformed lines ignored (--lenient)" }
            FileHandle.standardError.write(Data((note + "\n").utf8))
        }

        let store = try Stores.write(database.path)
        defer { store.close() }
        Interrupt.install()

        for s in strategies {
            var recording = RunRecording(config: config, strategy: s, source: workload.source, pgstoreVersion: Pgstore.version)
            recording.batchSize = Int64(batch)
            recording.checkpointEvery = checkpointEvery
            recording.failOnCallError = workload.isReplay
            recording.lenient = lenient
            if strategies.count > 1 { recording.snapshotSuffix = "/\(s.rawValue)" }
            var progress = Progress(label: s.rawValue)
            let outcome: RunRecording.Outcome
            do {
                outcome = try recording.record(into: store, steps: steps,
                                               progress: { progress.update(events: $0, calls: $1) },
                                               shouldStop: { Interrupt.wasRequested })
            } catch {
                progress.finish()
                throw PgstoreError(error.description)
            }
            progress.finish()
            try Self.finish(outcome, strategy: s, source: workload.source)
        }
    }

    /// Prints a run's summary line; a failed run ends the command with status 2,
    /// an interrupted one with 130.
    static func finish(_ outcome: RunRecording.Outcome, strategy: Strategy, source: WorkloadSource) throws {
        print(summary(outcome, strategy: strategy))
        switch outcome.status {
        case .failed:
            FileHandle.standardError.write(Data("pgstore: run \(outcome.run) failed: \(source.description):\(outcome.message ?? "")\n".utf8))
            throw ExitCode(2)
        case .incomplete:
            FileHandle.standardError.write(Data("pgstore: run \(outcome.run) interrupted; marked incomplete with \(outcome.events) events recorded\n".utf8))
            throw ExitCode(130)
        case .complete, .running:
            break
        }
    }

    /// `--continue RUN`: the run's own configuration and strategy, from its last point.
    func continueRecording(_ run: Int64, workload: WorkloadInput) throws {
        if strategy != nil { throw PgstoreError("--continue \(run): the run keeps its strategy; restore into a new run to change it") }
        let store = try Stores.write(database.path)
        defer { store.close() }
        let info = try Stores.run { try store.run(run) }
        let geometry: Geometry
        do { geometry = try Geometry(info.config) } catch { throw PgstoreError("run \(run): \(error.reason)") }
        if !kernelErrors { try workload.validate(geometry: geometry) }
        let steps = try workload.steps(geometry: geometry)
        Interrupt.install()
        var progress = Progress(label: info.strategy.rawValue)
        let outcome = try Stores.run {
            try store.continueRun(run, steps: steps, source: workload.source, pgstoreVersion: Pgstore.version, batchSize: Int64(batch),
                                  lenient: lenient, failOnCallError: workload.isReplay,
                                  progress: { progress.update(events: $0, calls: $1) }, shouldStop: { Interrupt.wasRequested })
        }
        progress.finish()
        try Self.finish(outcome, strategy: info.strategy, source: workload.source)
    }

    static func strategies(_ text: String?, default fallback: Strategy) throws -> [Strategy] {
        guard let text else { return [fallback] }
        if text == "all" { return Strategy.comparisonOrder }
        var out: [Strategy] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let s = try parseStrategy(String(name))
            if !out.contains(s) { out.append(s) }
        }
        return out
    }

    static func summary(_ o: RunRecording.Outcome, strategy: Strategy) -> String {
        let rate = o.seconds > 0 ? Int64(Double(o.events) / o.seconds) : 0
        var s = "run \(o.run) \(strategy): \(o.status.rawValue), \(groupDigits(o.calls)) calls, \(groupDigits(o.events)) events, "
        s += "\(groupDigits(o.linesCleaned)) lines cleaned, \(groupDigits(o.staleFindings)) stale findings, "
        s += "\(groupDigits(rate)) events/s (\(String(format: "%.2f", o.seconds)) s)"
        if o.skippedCalls > 0 { s += ", \(o.skippedCalls) calls skipped (--lenient)" }
        return s
    }
}
