import Foundation
import GRDB
import PGEngine

/// Records one run: creates its row, drives the engine with a ``Recorder`` as
/// its sink, commits every `batchSize` events, and closes the run as
/// `complete`, `failed` (with the reason) or `incomplete` (interrupted).
public struct RunRecording {
    public var config: PageTableConfig
    public var strategy: Strategy
    public var source: WorkloadSource
    public var batchSize: Int64 = 50_000
    /// Commit at least this often (nanoseconds) while events come in, however few.
    public var commitInterval: UInt64 = 1_000_000_000
    /// Write a checkpoint once this many events have passed since the last one
    /// (at the next boundary between top-level calls): the state's differences
    /// from the previous checkpoint, or the whole state when the deltas since
    /// the last whole one would outweigh it (``CheckpointPolicy``), within a
    /// budget of `checkpointBytesPerEvent`. Reconstruction stays O(state + interval).
    public var checkpointEvery: Int64 = RunRecording.defaultCheckpointEvery
    public static let defaultCheckpointEvery: Int64 = 50_000
    /// Checkpoint bytes allowed per event (0: no limit, checkpoint every `checkpointEvery`).
    public var checkpointBytesPerEvent: Double = 1
    /// When a replayed call fails (ftrace), fail the run; with `lenient`, count it and go on.
    public var failOnCallError = false
    public var lenient = false
    /// For a stream, whose hash is known only at its end: the hash of what was
    /// read, stored with the segment (and a new run) when it closes.
    public var finalSourceHash: (() -> String)?
    /// Version string stored with the run.
    public var pgstoreVersion: String
    /// A kernel tree's code instead of the engine (`record --kernel-source`):
    /// the run's strategy names the kernel, and it always starts from fresh tables.
    public var external: ExternalBackend?

    /// `runs.strategy`: the engine strategy, or the kernel's name.
    public var label: String { external?.kernel.label ?? strategy.rawValue }

    public init(config: PageTableConfig, strategy: Strategy, source: WorkloadSource, pgstoreVersion: String) {
        self.config = config
        self.strategy = strategy
        self.source = source
        self.pgstoreVersion = pgstoreVersion
    }

    public struct Outcome: Sendable {
        public var run: Int64
        public var status: RunInfo.Status
        public var message: String?
        /// Events and top-level calls this recording added (a continuation's own, not the run's).
        public var events: Int64
        public var calls: Int64
        /// The run's events after this recording.
        public var runEvents: Int64
        /// Lines cleaned and stale findings in the events this recording added.
        public var linesCleaned: Int64
        public var staleFindings: Int64
        public var skippedCalls: Int64
        /// Lost-events markers the input had (`trace_gaps`).
        public var gaps: Int64
        public var seconds: Double
    }

    /// A call in the input that the engine refused during replay.
    public struct ReplayError: Error, Sendable {
        public var line: Int
        public var message: String
    }

    /// A state to start from instead of fresh tables (a restored point, or a run being continued).
    public var initialState: EngineState?
    /// With an initial state that is not at seq 0 (continuing a run): write it as a checkpoint too.
    var writeInitialCheckpoint = false
    /// Top-level calls already in the run (continuing).
    var initialCalls: Int64 = 0
    /// Append to this existing run instead of creating one (continuing).
    public var existingRun: Int64?
    /// Where a restored run's initial state came from.
    public var parent: (run: Int64, seq: Int64)?

    /// Records `steps` as a new run (or a new segment of `existingRun`).
    ///
    /// - `progress` is called about ten times a second, also inside long calls.
    /// - `stopRequest` is asked every ``Recorder/pollEvery`` events and after
    ///   every step; a reason stops the recording there: what was recorded is
    ///   committed and the run ends `incomplete` with the reason.
    /// - `onStopInsideCall`, when given, is called when the stop came inside a
    ///   call, once the run is closed: the caller may end the process there
    ///   instead of waiting for the engine to finish a call nothing records.
    public func record<Steps: Sequence>(into store: HistoryStore, steps: Steps,
                                        progress: @escaping (RecordingProgress) -> Void = { _ in },
                                        stopRequest: @escaping () -> String? = { nil },
                                        onStopInsideCall: ((Outcome) -> Void)? = nil) throws(StoreError) -> Outcome
    where Steps.Element == WorkloadStep {
        let geometry: Geometry
        do { geometry = try config.checked() } catch {
            throw StoreError(.invalid, path: store.path, "configuration refused: \(error.reason)")
        }
        let (runID, segment) = try store.write { db in try openSegment(db, geometry: geometry) }
        let start = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var end = SegmentEnd(start: segmentStart)
        do {
            try store.withConnection { db in
                try recordSteps(steps, run: runID, segment: segment, db: db, end: &end, progress: progress, stopRequest: stopRequest,
                                onStopInsideCall: onStopInsideCall.map { hook in { end in hook(outcome(runID, end, seconds: seconds())) } })
            }
        } catch {
            // Whatever was committed stays; the run says why it stopped.
            end.status = .failed
            end.message = end.message ?? error.description
            try? store.write { db in try closeSegment(db, run: runID, segment: segment, end: end) }
            throw error
        }
        try store.write { db in try closeSegment(db, run: runID, segment: segment, end: end) }
        return outcome(runID, end, seconds: seconds())
    }

    func outcome(_ run: Int64, _ end: SegmentEnd, seconds: Double) -> Outcome {
        Outcome(run: run, status: end.status, message: end.message, events: end.events - end.start.seq,
                calls: end.calls - end.start.calls, runEvents: end.events, linesCleaned: end.lines,
                staleFindings: end.stale, skippedCalls: end.skipped, gaps: end.gaps, seconds: seconds)
    }

    /// Where a segment starts: a new run at 0, a continued or restored one at its initial state.
    struct SegmentStart { var seq: Int64; var calls: Int64 }

    var segmentStart: SegmentStart {
        SegmentStart(seq: Int64(initialState?.seq ?? 0), calls: initialState == nil ? 0 : initialCalls)
    }

    /// How a segment ended, filled in as it records.
    struct SegmentEnd {
        var start: SegmentStart
        var status = RunInfo.Status.complete
        var message: String?
        var events: Int64 = 0
        var calls: Int64 = 0
        var lines: Int64 = 0
        var stale: Int64 = 0
        var skipped: Int64 = 0
        var gaps: Int64 = 0
    }

    /// The work a step stands for, for progress: the pages a call covers (at
    /// least 1); snapshots, gaps and idle moments none.
    public static func work(of step: WorkloadStep, granule: UInt64) -> Int64 {
        guard case .call(let call, _, _) = step else { return 0 }
        return max(1, Int64(clamping: call.bytesCovered / max(granule, 1)))
    }

    /// Creates the run (or reopens the one being continued) and its new segment, in one transaction.
    func openSegment(_ db: Database, geometry: Geometry) throws -> (run: Int64, segment: Int64) {
        let now = RunInfo.now()
        let runID: Int64
        let start = segmentStart
        if let existingRun {
            runID = existingRun
            try db.execute(sql: "UPDATE runs SET status = 'running', recorder_pid = ?, ended_at = NULL, message = NULL WHERE id = ?",
                           arguments: [Int64(getpid()), runID])
        } else {
            let kernel = external?.kernel
            try db.execute(sql: """
                INSERT INTO runs (strategy, stage, granule, ias, oas, coherent_walk, line_size, no_warn, non_secure, pgsize_bitmap,
                    source_kind, source, source_sha256, pgstore_version, started_at, status, recorder_pid, parent_run, parent_seq,
                    backend, kernel_version, kernel_source, kernel_sha256, defer_sync_pte, kernel_profile)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [label, config.stage.rawValue, Int64(config.granule.bytes), geometry.ias, geometry.oas,
                                 config.coherentWalk || strategy.forcesCoherentWalk, config.lineSize, config.noWarn, config.nonSecure,
                                 RunInfo.storedPgsizeBitmap(geometry),
                                 source.kind.rawValue, source.description, source.sha256, pgstoreVersion, now, Int64(getpid()),
                                 parent?.run, parent?.seq,
                                 kernel == nil ? "engine" : "kernel", kernel?.version, kernel?.source, kernel?.sha256, kernel?.deferSyncPTE,
                                 config.profile == .mainline ? nil : config.profile.rawValue])
            runID = db.lastInsertedRowID
            // The event tables' key holds the run id above the seq (EventKey).
            if runID > EventKey.maxRun {
                throw StoreError(.invalid, path: "", "the file holds \(EventKey.maxRun) runs, the most it can")
            }
        }
        let segment = (try Int64.fetchOne(db, sql: "SELECT max(segment) FROM run_segments WHERE run = ?", arguments: [runID]) ?? 0) + 1
        try db.execute(sql: """
            INSERT INTO run_segments (run, segment, source_kind, source, source_sha256, pgstore_version, started_at,
                start_seq, end_seq, start_calls, end_calls, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')
            """, arguments: [runID, segment, source.kind.rawValue, source.description, source.sha256, pgstoreVersion, now,
                             start.seq, start.seq, start.calls, start.calls])
        return (runID, segment)
    }

    /// Ends the segment and gives the run its status, in one transaction.
    func closeSegment(_ db: Database, run: Int64, segment: Int64, end: SegmentEnd) throws {
        let now = RunInfo.now()
        let committed = try Row.fetchOne(db, sql: "SELECT events, calls FROM runs WHERE id = ?", arguments: [run])
        let events: Int64 = committed?["events"] ?? end.events
        let calls: Int64 = committed?["calls"] ?? end.calls
        try db.execute(sql: """
            UPDATE run_segments SET status = ?, message = ?, ended_at = ?, end_seq = max(start_seq, ?), end_calls = max(start_calls, ?)
            WHERE run = ? AND segment = ?
            """, arguments: [end.status.rawValue, end.message, now, events, calls, run, segment])
        try db.execute(sql: "UPDATE runs SET status = ?, message = ?, ended_at = ?, recorder_pid = NULL WHERE id = ?",
                       arguments: [end.status.rawValue, end.message, now, run])
        if let hash = finalSourceHash?() {
            try db.execute(sql: "UPDATE run_segments SET source_sha256 = ? WHERE run = ? AND segment = ?", arguments: [hash, run, segment])
            if segment == 1 { try db.execute(sql: "UPDATE runs SET source_sha256 = ? WHERE id = ?", arguments: [hash, run]) }
        }
    }

    /// Why a replayed call's result contradicts the trace it came from.
    func replayProblem(_ call: Call, _ result: CallResult) -> String? {
        switch call.kind {
        case .iommuMap:
            if result.ret != 0 {
                return "map of \(hex(call.iova))+\(hex(call.size)) failed in replay with \(Errno.name(result.ret))"
                    + (result.ret == -Errno.EEXIST ? " (it overlaps a mapping the trace never unmapped)" : "")
            }
        case .iommuUnmap:
            if result.value != call.size {
                return "unmap of \(hex(call.iova))+\(hex(call.size)) unmapped \(hex(result.value)) in replay (the trace unmaps what it never mapped)"
            }
        default: break
        }
        return nil
    }
}
