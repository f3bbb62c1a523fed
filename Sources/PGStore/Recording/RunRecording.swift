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
    /// Suffix for snapshot names when several strategies record the same workload.
    public var snapshotSuffix: String = ""
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
        public var events: Int64
        public var calls: Int64
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
        do { geometry = try Geometry(config) } catch {
            throw StoreError(.invalid, path: store.path, "configuration refused: \(error.reason)")
        }
        let runID: Int64
        if let existingRun {
            runID = existingRun
        } else {
            runID = try store.write { db in
            try db.execute(sql: """
                INSERT INTO runs (strategy, stage, granule, ias, oas, coherent_walk, line_size, no_warn, non_secure, pgsize_bitmap,
                    source_kind, source, source_sha256, pgstore_version, started_at, status, recorder_pid)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)
                """, arguments: [strategy.rawValue, config.stage.rawValue, Int64(config.granule.bytes), geometry.ias, geometry.oas,
                                 config.coherentWalk || strategy.forcesCoherentWalk, config.lineSize, config.noWarn, config.nonSecure,
                                 RunInfo.storedPgsizeBitmap(geometry),
                                 source.kind.rawValue, source.description, source.sha256, pgstoreVersion, RunInfo.now(), Int64(getpid())])
            let id = db.lastInsertedRowID
            if let parent = parent {
                try db.execute(sql: "UPDATE runs SET parent_run = ?, parent_seq = ? WHERE id = ?", arguments: [parent.run, parent.seq, id])
            }
            return id
            }
        }
        if existingRun != nil {
            try store.write { db in
                try db.execute(sql: "UPDATE runs SET status = 'running', recorder_pid = ?, ended_at = NULL, message = NULL WHERE id = ?",
                               arguments: [Int64(getpid()), runID])
            }
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var status = RunInfo.Status.complete
        var message: String?
        var skipped: Int64 = 0
        var counters = (events: Int64(0), calls: Int64(0), lines: Int64(0), stale: Int64(0))

        try store.withConnection { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            let recorder = try Recorder(db: db, run: runID)
            let engine: IOPageTable<Recorder>
            if let initial = initialState {
                engine = try IOPageTable(config: config, strategy: strategy, state: initial, sink: recorder)
                if initial.seq == 0 || writeInitialCheckpoint { try Checkpoints.write(initial, run: runID, db: db) }
            } else {
                engine = try IOPageTable(config: config, strategy: strategy, sink: recorder)
            }
            if initialState != nil { recorder.resume(events: Int64(engine.seq), calls: initialCalls) }
            var lastCheckpoint = engine.seq
            var interval = UInt64(checkpointEvery)
            /// Writes a checkpoint now if the interval has passed; returns whether it did.
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
            var lastProgress = start
            stepLoop: for step in steps {
                if shouldStop() {
                    status = .incomplete
                    message = "interrupted"
                    break
                }
                switch step {
                case .call(let call, let line):
                    recorder.sourceLine = line
                    let result = engine.perform(call)
                    if result.ret == 0 && (call.kind == .iommuMap || call.kind == .iommuMapSG) {
                        let stale = engine.staleEntries(iova: call.iova, size: result.value)
                        if !stale.isEmpty { recorder.recordExposures(call: engine.lastTopLevelCall, entries: stale, engine: engine) }
                    }
                    if failOnCallError, let problem = replayProblem(call, result) {
                        if lenient {
                            skipped += 1
                        } else {
                            status = .failed
                            message = "line \(line): \(problem)"
                            break stepLoop
                        }
                    }
                case .snapshot(let name, let line):
                    let full = name + snapshotSuffix
                    let exists = try Int.fetchOne(db, sql: "SELECT 1 FROM snapshots WHERE name = ?", arguments: [full]) != nil
                    if exists {
                        status = .failed
                        message = "line \(line): a snapshot named \(full) already exists"
                        break stepLoop
                    }
                    try db.execute(sql: "INSERT INTO snapshots (name, run, seq, created_at) VALUES (?, ?, ?, ?)",
                                   arguments: [full, runID, Int64(engine.seq), RunInfo.now()])
                }
                if let failure = recorder.failure {
                    status = .failed
                    message = failure
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
                try? db.execute(sql: "ROLLBACK")
            } else {
                try checkpointIfDue(final: true)
                try recorder.commit()
            }
            counters = (recorder.events, recorder.topLevelCalls, recorder.linesCleaned, recorder.staleFindings)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try store.write { db in
            try db.execute(sql: """
                UPDATE runs SET status = ?, message = ?, ended_at = ?, recorder_pid = NULL WHERE id = ?
                """, arguments: [status.rawValue, message, RunInfo.now(), runID])
        }
        return Outcome(run: runID, status: status, message: message, events: counters.events, calls: counters.calls,
                       linesCleaned: counters.lines, staleFindings: counters.stale, skippedCalls: skipped, seconds: seconds)
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
