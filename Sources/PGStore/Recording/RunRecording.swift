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
    /// Write a checkpoint once this many events have passed since the last one
    /// (at the next boundary between top-level calls), but no sooner than the
    /// last checkpoint's size in bytes: checkpoints never cost more than about a
    /// byte per event, and reconstruction stays O(state + interval).
    public var checkpointEvery: Int64 = RunRecording.defaultCheckpointEvery
    public static let defaultCheckpointEvery: Int64 = 50_000
    /// Checkpoint bytes allowed per event (0: no limit, checkpoint every `checkpointEvery`).
    public var checkpointBytesPerEvent: Double = 1
    /// When a replayed call fails (ftrace), fail the run; with `lenient`, count it and go on.
    public var failOnCallError = false
    public var lenient = false
    /// Version string stored with the run.
    public var pgstoreVersion: String

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

    public func record<Steps: Sequence>(into store: HistoryStore, steps: Steps,
                                        progress: (Int64, Int64) -> Void = { _, _ in },
                                        shouldStop: () -> Bool = { false }) throws(StoreError) -> Outcome
    where Steps.Element == WorkloadStep {
        let geometry: Geometry
        do { geometry = try config.checked() } catch {
            throw StoreError(.invalid, path: store.path, "configuration refused: \(error.reason)")
        }
        let (runID, segment) = try store.write { db in try openSegment(db, geometry: geometry) }
        let start = DispatchTime.now().uptimeNanoseconds
        var end = SegmentEnd()
        do {
            try store.withConnection { db in try recordSteps(steps, run: runID, db: db, end: &end, progress: progress, shouldStop: shouldStop) }
        } catch {
            // Whatever was committed stays; the run says why it stopped.
            end.status = .failed
            end.message = end.message ?? error.description
            try? store.write { db in try closeSegment(db, run: runID, segment: segment, end: end) }
            throw error
        }
        try store.write { db in try closeSegment(db, run: runID, segment: segment, end: end) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Outcome(run: runID, status: end.status, message: end.message, events: end.events - end.startEvents,
                       calls: end.calls - end.startCalls, runEvents: end.events, linesCleaned: end.lines,
                       staleFindings: end.stale, skippedCalls: end.skipped, seconds: seconds)
    }

    /// How a segment ended, filled in as it records.
    struct SegmentEnd {
        var status = RunInfo.Status.complete
        var message: String?
        var startEvents: Int64 = 0
        var startCalls: Int64 = 0
        var events: Int64 = 0
        var calls: Int64 = 0
        var lines: Int64 = 0
        var stale: Int64 = 0
        var skipped: Int64 = 0
    }

    /// Creates the run (or reopens the one being continued) and its new segment, in one transaction.
    func openSegment(_ db: Database, geometry: Geometry) throws -> (run: Int64, segment: Int64) {
        let now = RunInfo.now()
        let runID: Int64
        var startSeq: Int64 = 0, startCalls: Int64 = 0
        if let existingRun {
            runID = existingRun
            startSeq = Int64(initialState?.seq ?? 0)
            startCalls = initialCalls
            try db.execute(sql: "UPDATE runs SET status = 'running', recorder_pid = ?, ended_at = NULL, message = NULL WHERE id = ?",
                           arguments: [Int64(getpid()), runID])
        } else {
            try db.execute(sql: """
                INSERT INTO runs (strategy, stage, granule, ias, oas, coherent_walk, line_size, no_warn, non_secure, pgsize_bitmap,
                    source_kind, source, source_sha256, pgstore_version, started_at, status, recorder_pid, parent_run, parent_seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)
                """, arguments: [strategy.rawValue, config.stage.rawValue, Int64(config.granule.bytes), geometry.ias, geometry.oas,
                                 config.coherentWalk || strategy.forcesCoherentWalk, config.lineSize, config.noWarn, config.nonSecure,
                                 RunInfo.storedPgsizeBitmap(geometry),
                                 source.kind.rawValue, source.description, source.sha256, pgstoreVersion, now, Int64(getpid()),
                                 parent?.run, parent?.seq])
            runID = db.lastInsertedRowID
        }
        let segment = (try Int64.fetchOne(db, sql: "SELECT max(segment) FROM run_segments WHERE run = ?", arguments: [runID]) ?? 0) + 1
        try db.execute(sql: """
            INSERT INTO run_segments (run, segment, source_kind, source, source_sha256, pgstore_version, started_at,
                start_seq, end_seq, start_calls, end_calls, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')
            """, arguments: [runID, segment, source.kind.rawValue, source.description, source.sha256, pgstoreVersion, now,
                             startSeq, startSeq, startCalls, startCalls])
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
    }

    /// Drives the engine over `steps` with a ``Recorder`` as its sink, committing
    /// every `batchSize` events. Runs inside ``HistoryStore/withConnection(_:)``,
    /// which rolls back the open batch if anything here throws.
    func recordSteps<Steps: Sequence>(_ steps: Steps, run runID: Int64, db: Database, end: inout SegmentEnd,
                                      progress: (Int64, Int64) -> Void, shouldStop: () -> Bool) throws
    where Steps.Element == WorkloadStep {
        try db.execute(sql: "BEGIN IMMEDIATE")
        let recorder = try Recorder(db: db, run: runID)
        // A new run's own events include the root table's allocation.
        end.startEvents = Int64(initialState?.seq ?? 0)
        end.startCalls = initialState == nil ? 0 : initialCalls
        let engine: IOPageTable<Recorder>
        if let initial = initialState {
            engine = try IOPageTable(config: config, strategy: strategy, state: initial, sink: recorder)
            if initial.seq == 0 || writeInitialCheckpoint { try Checkpoints.write(initial, run: runID, db: db) }
            recorder.resume(events: Int64(engine.seq), calls: initialCalls)
        } else {
            engine = try IOPageTable(config: config, strategy: strategy, sink: recorder)
        }
        var lastCheckpoint = engine.seq
        var interval = UInt64(checkpointEvery)
        /// Writes a checkpoint now if the interval has passed.
        func checkpointIfDue(final: Bool) throws {
            let since = engine.seq &- lastCheckpoint
            guard since >= interval || (final && since > 0) else { return }
            let state = engine.captureState()
            let bytes = StateCodec.encode(state)
            // At the end, a checkpoint is worth it only within the same budget.
            let budgeted = checkpointBytesPerEvent > 0 ? UInt64(Double(bytes.count) / checkpointBytesPerEvent) : 0
            if final && since < max(UInt64(checkpointEvery), budgeted) { return }
            try Checkpoints.write(encoded: bytes, seq: state.seq, run: runID, db: db)
            lastCheckpoint = engine.seq
            interval = max(UInt64(checkpointEvery), budgeted)
        }
        var lastProgress = DispatchTime.now().uptimeNanoseconds
        stepLoop: for step in steps {
            if shouldStop() {
                end.status = .incomplete
                end.message = "interrupted"
                break
            }
            switch step {
            case .call(let call, let line, let column):
                recorder.sourceLine = line
                let result = engine.perform(call)
                if result.ret == 0 && (call.kind == .iommuMap || call.kind == .iommuMapSG) {
                    let stale = engine.staleEntries(iova: call.iova, size: result.value)
                    if !stale.isEmpty { recorder.recordExposures(call: engine.lastTopLevelCall, entries: stale, engine: engine) }
                }
                if failOnCallError, let problem = replayProblem(call, result) {
                    if lenient {
                        end.skipped += 1
                    } else {
                        end.status = .failed
                        end.message = "\(source.description):\(line):\(column): \(problem)"
                        break stepLoop
                    }
                }
            case .snapshot(let name, _):
                try db.execute(sql: "INSERT INTO snapshots (run, name, seq, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [runID, name, Int64(engine.seq), RunInfo.now()])
            }
            if let failure = recorder.failure {
                end.status = .failed
                end.message = failure
                break
            }
            try checkpointIfDue(final: false)
            if recorder.eventsSinceCommit >= batchSize {
                try recorder.commit()
                try recorder.begin()
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastProgress > 100_000_000 {
                    progress(recorder.events, recorder.topLevelCalls)
                    lastProgress = now
                }
            }
        }
        if recorder.failure != nil {
            try db.execute(sql: "ROLLBACK")
        } else {
            try checkpointIfDue(final: true)
            try recorder.commit()
        }
        end.events = recorder.events
        end.calls = recorder.topLevelCalls
        end.lines = recorder.linesCleaned
        end.stale = recorder.staleFindings
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
