import Foundation
import GRDB
import PGEngine

extension RunRecording {
    /// Drives the engine over `steps` with a ``Recorder`` as its sink. Runs
    /// inside ``HistoryStore/withConnection(_:)``, which rolls back the open
    /// batch if anything here throws; every batch before it stays.
    func recordSteps<Steps: Sequence>(_ steps: Steps, run runID: Int64, segment: Int64, db: Database, end: inout SegmentEnd,
                                      progress: @escaping (RecordingProgress) -> Void, stopRequest: @escaping () -> String?,
                                      onStopInsideCall: ((SegmentEnd) -> Void)?) throws
    where Steps.Element == WorkloadStep {
        try db.execute(sql: "BEGIN IMMEDIATE")
        let recorder = try Recorder(db: db, run: runID, segment: segment, granule: config.granule)
        recorder.batchSize = batchSize
        recorder.commitInterval = commitInterval
        recorder.stopRequest = stopRequest
        recorder.onProgress = progress
        // The initial state's checkpoint, when written, is the base of the first delta.
        var written: (state: EngineState, bytes: Int)?
        if let external {
            guard initialState == nil else {
                throw StoreError(.invalid, path: "", "\(external.kernel.label) starts from fresh tables; it cannot take a restored or continued state")
            }
            let backend: any PageTableBackend
            do { backend = try external.start(recorder) } catch {
                throw StoreError(.invalid, path: "", "\(external.kernel.label): \(error)")
            }
            try drive(backend, steps, recorder: recorder, written: nil, run: runID, segment: segment, db: db, end: &end,
                      onStopInsideCall: onStopInsideCall)
            return
        }
        let engine: IOPageTable<Recorder>
        if let initial = initialState {
            engine = try IOPageTable(config: config, strategy: strategy, state: initial, sink: recorder)
            if initial.seq == 0 || writeInitialCheckpoint {
                let bytes = StateCodec.encode(initial, extent: StateExtent(of: initial),
                                              stale: engine.staleWords(inPages: CheckpointPolicy.allPages(initial.cpu.count)))
                try Checkpoints.write(encoded: bytes, seq: initial.seq, run: runID, db: db)
                written = (initial, bytes.count)
            }
            recorder.resume(events: Int64(engine.seq), calls: initialCalls)
            for t in initial.tables { recorder.recordTable(t) }
            // A continued run's line counts go on from the file's.
            try recorder.totals.loadLines(run: runID, tables: initial.tables.filter { !$0.freed }.map { Int64($0.id) }, db: db)
        } else {
            engine = try IOPageTable(config: config, strategy: strategy, sink: recorder)
        }
        try drive(engine, steps, recorder: recorder, written: written, run: runID, segment: segment, db: db, end: &end,
                  onStopInsideCall: onStopInsideCall)
    }

    /// The step loop over one backend: calls, snapshots, gaps, idle moments;
    /// checkpoints between calls; the stop and failure rules.
    private func drive<Backend: PageTableBackend, Steps: Sequence>(
        _ backend: Backend, _ steps: Steps, recorder: Recorder, written: (state: EngineState, bytes: Int)?,
        run runID: Int64, segment: Int64, db: Database, end: inout SegmentEnd, onStopInsideCall: ((SegmentEnd) -> Void)?
    ) throws where Steps.Element == WorkloadStep {
        let engine = backend.state
        let start = end.start
        recorder.onStopInsideCall = { [unowned recorder, unowned backend] reason in
            // The batch is committed; close the run in the same words the
            // caller would, and let it end the process if it wants to.
            guard let onStopInsideCall else { return }
            var stopped = SegmentEnd(start: start)
            stopped.status = .incomplete
            stopped.message = Self.insideCall(reason, recorder: recorder)
            Self.fill(&stopped, from: recorder)
            do {
                try closeSegment(db, run: runID, segment: segment, end: stopped)
                try db.execute(sql: "COMMIT")
                _ = try? db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                // The caller exits here: nothing the backend runs may outlive it.
                backend.stop()
                onStopInsideCall(stopped)
                try db.execute(sql: "BEGIN IMMEDIATE")
            } catch {
                recorder.failure = recorder.failure ?? "closing the interrupted run: \(error)"
            }
        }
        var checkpoints = CheckpointPolicy(every: UInt64(checkpointEvery), bytesPerEvent: checkpointBytesPerEvent,
                                           start: engine.seq, initial: written)
        /// Writes a checkpoint now if one is due (Checkpoints.swift: whole states and deltas).
        func checkpointIfDue(openCalls: @autoclosure () -> [EngineState.OpenCall] = []) throws {
            guard let (seq, bytes) = checkpoints.due(engine, openCalls: openCalls()) else { return }
            try Checkpoints.write(encoded: bytes, seq: seq, run: runID, db: db)
        }
        // Inside one long call (a map_sg of millions of pages) checkpoints
        // come at the core's safe points, so a point in its middle replays
        // from a checkpoint near it rather than from the call's start.
        recorder.onSafePoint = { [unowned recorder] in
            do { try checkpointIfDue(openCalls: recorder.openCalls) } catch {
                recorder.failure = recorder.failure ?? "writing a checkpoint: \(error)"
            }
        }
        defer { recorder.onSafePoint = nil }
        let granule = config.granule.bytes
        var workDone: Int64 = 0
        // The recorder asks for a stop before the first step and after each
        // (Recorder.poll), and every 1,024 events inside a call.
        recorder.poll()
        stepLoop: for step in steps {
            if let reason = recorder.stopped {
                end.status = .incomplete
                end.message = reason
                break
            }
            let work = Self.work(of: step, granule: granule)
            recorder.workBefore = workDone
            recorder.currentWork = work
            switch step {
            case .call(let call, let line, let column):
                recorder.sourceLine = line
                let result: CallResult
                do { result = try backend.run(call) } catch {
                    // The kernel stopped (BUG_ON) or its helper did: what it did so far is kept.
                    end.status = .failed
                    let place = line > 0 ? "\(source.description):\(line):\(column): " : ""
                    end.message = "\(place)\(call.kind.rawValue) at IOVA \(hex(call.iova)): \(error)"
                    break stepLoop
                }
                if let reason = recorder.stopped {
                    // Stopped inside this call: the engine finished it in memory, nothing recorded it.
                    end.status = .incomplete
                    end.message = Self.insideCall(reason, recorder: recorder)
                    break stepLoop
                }
                if result.ret == 0 && (call.kind == .iommuMap || call.kind == .iommuMapSG) {
                    let stale = engine.staleEntries(iova: call.iova, size: result.value)
                    if !stale.isEmpty { recorder.recordExposures(call: backend.lastTopLevelCall, entries: stale, engine: engine) }
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
                               arguments: [runID, name, Int64(backend.seq), RunInfo.now()])
            case .gap(let cpu, let lost, let marker, let line):
                recorder.recordGap(cpu: cpu, lost: lost, marker: marker, line: line)
            case .idle:
                // Nothing to read just now: what was read becomes visible.
                if recorder.eventsSinceCommit > 0 { recorder.commitInsideCall() }
            case .failure(let message):
                end.status = .failed
                end.message = message
                break stepLoop
            }
            if let failure = recorder.failure {
                end.status = .failed
                end.message = failure
                break
            }
            workDone += work
            try checkpointIfDue()
            recorder.workBefore = workDone
            recorder.currentWork = 0
            recorder.poll()
        }
        if recorder.failure != nil {
            try db.execute(sql: "ROLLBACK")
            if end.status != .failed {
                end.status = .failed
                end.message = recorder.failure
            }
        } else {
            // After a stop the engine may be ahead of what was recorded, and a
            // failed call left it mid-call: no checkpoint of either.
            if recorder.stopped == nil && end.status != .failed { try checkpointIfDue() }
            try recorder.commitBatch(andBegin: false)
        }
        Self.fill(&end, from: recorder)
    }

    static func fill(_ end: inout SegmentEnd, from recorder: Recorder) {
        end.events = recorder.events
        end.calls = recorder.topLevelCalls
        end.lines = recorder.linesCleaned
        end.stale = recorder.staleFindings
        end.gaps = recorder.gaps
    }

    /// "interrupted by SIGINT inside call 5 (iommu_map_sg)".
    static func insideCall(_ reason: String, recorder: Recorder) -> String {
        guard let top = recorder.open.first else { return reason }
        return "\(reason) inside call \(top.seq) (\(top.call.kind.rawValue)); the call has no end (unfinished_calls)"
    }
}
