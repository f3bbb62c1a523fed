import ArgumentParser
import Foundation
import PGEngine
import PGSources
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
        INPUT - reads standard input (`trace-cmd report | pgstore record --db h.pgdb -`); --follow FILE \
        reads FILE as it grows, a FIFO, or tracefs's trace_pipe (`--follow /sys/kernel/tracing/trace_pipe` \
        after `echo 1 > /sys/kernel/tracing/events/iommu/enable`) until Ctrl-C or SIGTERM, which then \
        end the run normally. Lines that are not iommu events are counted, not fatal; a lost-events \
        marker (CPU:N [LOST M EVENTS]) is recorded and findings after it are flagged.
        Events are committed every --batch events, also inside one long call, and at least once a \
        second from a stream; another process (the sqlite3 shell, pgstore query) can read while a \
        record runs. Ctrl-C or SIGTERM stops within a second wherever it is: what was recorded is \
        kept, the run is marked incomplete with the reason, exit status 130 (143 for SIGTERM). On a \
        terminal, progress shows a percentage and an ETA. With several strategies, snapshot names \
        in a script get the strategy appended (NAME/strategy).
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "A .pgs script or an ftrace log; - for standard input.")
    var input: String?

    @Option(help: ArgumentHelp("Read FILE as it grows (like tail -f), or a FIFO or trace_pipe, until Ctrl-C or SIGTERM.", valueName: "FILE"))
    var follow: String?

    @Option(help: ArgumentHelp("Generate the workload instead of reading INPUT (see above).", valueName: "SPEC"))
    var generate: String?

    @Option(help: ArgumentHelp("Sync strategies, comma-separated, one run each: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")), or all (default: the script's config strategy, else eager).", valueName: "S[,S...]"))
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

    @OptionGroup var kernel: KernelOptions

    func run() throws {
        guard batch > 0 else { throw PgstoreError("--batch \(batch): must be at least 1") }
        guard checkpointEvery > 0 else { throw PgstoreError("--checkpoint-every \(checkpointEvery): must be at least 1") }
        if input == "-" || follow != nil { return try recordStream() }
        let workload = try WorkloadInput.load(path: input, generate: generate, from: from, lenient: lenient)
        try workload.checkSnapshotNames()
        if let run = continueRun { return try continueRecording(run, workload: workload) }
        // Everything is checked before the history file is opened: a refused
        // configuration or input leaves no run and no file behind.
        var setup = try ResolvedSetup(script: workload.script, options: options, strategy: nil)
        let external = try kernelBackend(setup: &setup)
        if !kernelErrors { try workload.validate(geometry: setup.geometry) }
        // A kernel run is one run: the tree's code is its strategy.
        let strategies = external == nil ? try Self.strategies(strategy, default: setup.scriptStrategy) : [Strategy.eager]
        let steps = try workload.steps(geometry: setup.geometry)
        print(Self.describe(setup.config, geometry: setup.geometry))
        if case .ftrace(let log) = workload.kind {
            var note = "\(workload.source.description): \(log.events.count) iommu events"
            note += "; skipped \(log.otherEvents) other events and \(log.skippedLines) other lines"
            if !log.warnings.isEmpty { note += "; \(log.warnings.count) malformed lines ignored (--lenient)" }
            if let first = log.gaps.first {
                note += "; \(log.gaps.count) lost-events marker\(log.gaps.count == 1 ? "" : "s") (first at line \(first.line): \(first.marker)): "
                note += "findings after it may be incomplete"
            }
            FileHandle.standardError.write(Data((note + "\n").utf8))
        }

        let store = try Stores.write(database.path)
        defer { store.close() }
        Self.noteUpgrade(store)
        Interrupt.install()

        let total = workload.totalWork(steps, granule: setup.config.granule.bytes)
        for s in strategies {
            var recording = RunRecording(config: setup.config, strategy: s, source: workload.source, pgstoreVersion: Pgstore.version)
            recording.batchSize = Int64(batch)
            recording.checkpointEvery = checkpointEvery
            recording.failOnCallError = workload.isReplay
            recording.lenient = lenient
            recording.external = external
            let outcome = try Self.record(recording, into: store, steps: steps, progress: Progress(label: recording.label, total: total))
            try Self.finish(outcome, label: recording.label)
        }
    }

    /// Records one run with a progress display, stopping at Ctrl-C or SIGTERM.
    /// A stop inside a call ends the process there, once the run is closed.
    static func record<Steps: Sequence>(_ recording: RunRecording, into store: HistoryStore, steps: Steps, progress: Progress,
                                        stopRequest: @escaping () -> String? = { Interrupt.reason }) throws -> RunRecording.Outcome
    where Steps.Element == WorkloadStep {
        defer { progress.finish() }
        do {
            return try recording.record(into: store, steps: steps, progress: { progress.update($0) }, stopRequest: stopRequest,
                                        onStopInsideCall: { outcome in Self.endInsideCall(outcome, label: recording.label, progress: progress) })
        } catch {
            throw PgstoreError(error.description)
        }
    }

    /// A stop inside a call: the run is closed as incomplete; say so and exit
    /// without waiting for the engine to finish a call nothing records.
    static func endInsideCall(_ outcome: RunRecording.Outcome, label: String, progress: Progress) -> Never {
        progress.finish()
        print(summary(outcome, label: label))
        FileHandle.standardError.write(Data("pgstore: run \(outcome.run) \(outcome.message ?? "interrupted"); marked incomplete with \(outcome.runEvents) events recorded\n".utf8))
        fflush(nil)
        Foundation.exit(Interrupt.exitStatus)
    }

    /// The configuration a run gets, after the kernel's adjustment, in the
    /// words of a script's `config` line.
    static func describe(_ c: PageTableConfig, geometry g: Geometry) -> String {
        var line = "config stage=\(c.stage.rawValue) granule=\(c.granule) ias=\(g.ias) oas=\(g.oas) "
        line += "coherent=\(c.coherentWalk ? "yes" : "no") line=\(c.lineSize)"
        if c.noWarn { line += " nowarn=yes" }
        if c.nonSecure { line += " ns=yes" }
        line += "  # pgsize_bitmap=\(hex(g.pgsizeBitmap))"
        var clamped: [String] = []
        if g.ias != c.ias { clamped.append("ias \(c.ias)") }
        if g.oas != c.oas { clamped.append("oas \(c.oas)") }
        if !clamped.isEmpty { line += "; \(clamped.joined(separator: " and ")) clamped by the kernel to what the \(c.granule) granule allows" }
        return line
    }

    /// Says so when opening for writing upgraded an older history file.
    static func noteUpgrade(_ store: HistoryStore) {
        guard let from = store.upgradedFrom else { return }
        FileHandle.standardError.write(Data("pgstore: \(store.path): upgraded from schema version \(from) to \(Schema.version) before recording\n".utf8))
    }

    /// Prints a run's summary line; a failed run ends the command with status 2,
    /// an interrupted one with 130.
    static func finish(_ outcome: RunRecording.Outcome, label: String) throws {
        print(summary(outcome, label: label))
        switch outcome.status {
        case .failed:
            FileHandle.standardError.write(Data("pgstore: run \(outcome.run) failed: \(outcome.message ?? "")\n".utf8))
            throw ExitCode(2)
        case .incomplete:
            FileHandle.standardError.write(Data("pgstore: run \(outcome.run) \(outcome.message ?? "interrupted"); marked incomplete with \(outcome.runEvents) events recorded\n".utf8))
            throw ExitCode(Interrupt.exitStatus)
        case .complete, .running:
            break
        }
    }

    /// `--continue RUN`: the run's own configuration and strategy, from its last
    /// point. A flag or script setting that contradicts the run is refused, with
    /// its place, before anything is appended.
    func continueRecording(_ run: Int64, workload: WorkloadInput) throws {
        let (store, info, geometry) = try openContinuation(run, script: workload.script)
        defer { store.close() }
        if let script = workload.script {
            let taken = Set(try Stores.run { try store.snapshotNames(in: run) })
            for s in script.statements {
                if case .snapshot(let name) = s.command, taken.contains(name) {
                    throw PgstoreError("\(s.location): run \(run) already has a snapshot named \"\(name)\"")
                }
            }
        }
        if !kernelErrors { try workload.validate(geometry: geometry) }
        let steps = try workload.steps(geometry: geometry)
        Interrupt.install()
        let progress = Progress(label: info.label, total: workload.totalWork(steps, granule: info.config.granule.bytes))
        let outcome = try append(steps, to: info, in: store, source: workload.source, failOnCallError: workload.isReplay,
                                 progress: progress, stopRequest: { Interrupt.reason })
        try Self.finish(outcome, label: info.label)
    }

    /// `--continue RUN`: the history opened for writing, the run and its
    /// geometry, once the flags and a script's `config` line agree with it.
    func openContinuation(_ run: Int64, script: Script?) throws -> (store: HistoryStore, info: RunInfo, geometry: Geometry) {
        if let strategy { throw PgstoreError("--strategy \(strategy): --continue \(run) keeps the run's strategy; restore into a new run to change it") }
        if let dir = kernel.kernelSource {
            throw PgstoreError("--kernel-source \(dir): --continue \(run) goes on in the run's own backend; the kernel's tables start fresh, so record the whole workload again")
        }
        let store = try Stores.write(database.path)
        do {
            Self.noteUpgrade(store)
            let info = try Stores.run { try store.run(run) }
            let geometry: Geometry
            do { geometry = try info.config.checked() } catch { throw PgstoreError("run \(run): \(error.reason)") }
            try Self.checkAgreement(run: info, geometry: geometry, script: script, options: options)
            return (store, info, geometry)
        } catch {
            store.close()
            throw error
        }
    }

    /// Appends `steps` to a run as a new segment, with progress, and stopping
    /// at Ctrl-C or SIGTERM as a new run's recording does.
    func append<Steps: Sequence>(_ steps: Steps, to info: RunInfo, in store: HistoryStore, source: WorkloadSource, failOnCallError: Bool,
                                 finalSourceHash: (() -> String)? = nil, progress: Progress,
                                 stopRequest: @escaping () -> String?) throws -> RunRecording.Outcome
    where Steps.Element == WorkloadStep {
        defer { progress.finish() }
        return try Stores.run {
            try store.continueRun(info.id, steps: steps, source: source, pgstoreVersion: Pgstore.version, batchSize: Int64(batch),
                                  lenient: lenient, failOnCallError: failOnCallError, finalSourceHash: finalSourceHash,
                                  progress: { progress.update($0) }, stopRequest: stopRequest,
                                  onStopInsideCall: { Self.endInsideCall($0, label: info.label, progress: progress) })
        }
    }

    /// Refuses a continuation whose flags or script `config` line ask for a
    /// different configuration or strategy than the run has.
    static func checkAgreement(run info: RunInfo, geometry: Geometry, script: Script?, options: ConfigOptions) throws {
        let asked = try options.resolve(script?.config ?? ScriptConfig())
        let c = info.config
        func clamp(_ bits: Int) -> Int { min(bits, c.granule.maxAddressBits) }
        var differences: [(ConfigField, String)] = []
        if let v = asked.stage, v != c.stage { differences.append((.stage, "stage \(v.rawValue) (the run is stage \(c.stage.rawValue))")) }
        if let v = asked.granule, v != c.granule { differences.append((.granule, "granule \(v) (the run's is \(c.granule))")) }
        if let v = asked.ias, clamp(v) != geometry.ias { differences.append((.ias, "ias \(v) (the run's is \(geometry.ias))")) }
        if let v = asked.oas, clamp(v) != geometry.oas { differences.append((.oas, "oas \(v) (the run's is \(geometry.oas))")) }
        if let v = asked.coherent, v != c.coherentWalk {
            differences.append((.coherent, "coherent=\(v ? "yes" : "no") (the run's walk is \(c.coherentWalk ? "coherent" : "non-coherent"))"))
        }
        if let v = asked.profile, v != c.profile { differences.append((.profile, "kernel profile \(v) (the run's is \(c.profile))")) }
        if let v = asked.lineSize, v != c.lineSize { differences.append((.lineSize, "line \(v) (the run's is \(c.lineSize))")) }
        if let v = asked.noWarn, v != c.noWarn { differences.append((.noWarn, "nowarn=\(v ? "yes" : "no") (the run's is \(c.noWarn ? "yes" : "no"))")) }
        if let v = asked.nonSecure, v != c.nonSecure { differences.append((.nonSecure, "ns=\(v ? "yes" : "no") (the run's is \(c.nonSecure ? "yes" : "no"))")) }
        if let v = asked.pgsizes {
            var offered = c
            offered.pgsizeBitmap = v
            let restricted = (try? offered.checked())?.pgsizeBitmap
            if restricted != geometry.pgsizeBitmap {
                differences.append((.pgsizes, "pgsizes \(hex(restricted ?? v)) (the run's is \(hex(geometry.pgsizeBitmap)))"))
            }
        }
        if let (field, what) = differences.first {
            let message = "--continue \(info.id): \(what); a continuation keeps its run's configuration"
            if let flag = options.flag(for: field) { throw PgstoreError("\(flag): \(message)") }
            if let place = script?.configKeyLocations[field] { throw PgstoreError("\(place): \(message)") }
            throw PgstoreError(message)
        }
        if let s = script?.config.strategy, s != info.strategy {
            let place = script?.configLocation.map { "\($0): " } ?? ""
            throw PgstoreError("\(place)--continue \(info.id): strategy=\(s) (the run's is \(info.strategy)); a continuation keeps its run's strategy")
        }
    }

    /// `--strategy a,b,...`: each name once, in the order given; `all` stands
    /// for every strategy in comparison order and may be mixed with names.
    static func strategies(_ text: String?, default fallback: Strategy) throws -> [Strategy] {
        guard let text else { return [fallback] }
        var out: [Strategy] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let named = name == "all" ? Strategy.comparisonOrder : [try parseStrategy(String(name), accepting: ["all"])]
            for s in named where !out.contains(s) { out.append(s) }
        }
        return out
    }

    /// What one recording did: its own calls, events and rate (a continuation's,
    /// not the whole run's), and the run's total when they differ.
    static func summary(_ o: RunRecording.Outcome, label: String) -> String {
        let rate = o.seconds > 0 ? Int64(Double(o.events) / o.seconds) : 0
        var s = "run \(o.run) \(label): \(o.status.rawValue), \(groupDigits(o.calls)) calls, \(groupDigits(o.events)) events"
        if o.runEvents != o.events { s += " (\(groupDigits(o.runEvents)) in the run)" }
        s += ", "
        s += "\(groupDigits(o.linesCleaned)) lines cleaned, \(groupDigits(o.staleFindings)) stale findings, "
        s += "\(groupDigits(rate)) events/s (\(String(format: "%.2f", o.seconds)) s)"
        if o.skippedCalls > 0 { s += ", \(o.skippedCalls) calls skipped (--lenient)" }
        return s
    }
}
