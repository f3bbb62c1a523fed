import Foundation
import GRDB
import PGEngine

extension HistoryStore {
    /// The state at `point` as the start of a new run in `target` (which may be
    /// this file). History is never rewritten. The point must lie between calls.
    public func restore(_ point: Point, into target: HistoryStore, strategy override: Strategy?) throws(StoreError) -> Int64 {
        let (info, engine, open) = try reconstruct(point)
        if let call = open.first {
            throw StoreError(.invalid, path: path, "point \(point) is inside call \(call.seq) (\(call.kind.rawValue)); restore from a point between calls")
        }
        var state = engine.captureState()
        state.seq = 0
        let strategy = override ?? info.strategy
        var recording = RunRecording(config: info.config, strategy: strategy,
                                     source: WorkloadSource(kind: .restore, description: "\(path) at \(point)",
                                                            sha256: WorkloadSource.sha256(StateCodec.encode(state))),
                                     pgstoreVersion: info.pgstoreVersion)
        recording.initialState = state
        recording.parent = (point.run, point.seq)
        let outcome = try recording.record(into: target, steps: [WorkloadStep]())
        return outcome.run
    }

    /// Appends `steps` to an existing run, from its last point.
    public func continueRun<Steps: Sequence>(_ run: Int64, steps: Steps, source: WorkloadSource, pgstoreVersion: String,
                                             batchSize: Int64, lenient: Bool, failOnCallError: Bool,
                                             finalSourceHash: (() -> String)? = nil,
                                             progress: @escaping (RecordingProgress) -> Void = { _ in },
                                             stopRequest: @escaping () -> String? = { nil },
                                             onStopInsideCall: ((RunRecording.Outcome) -> Void)? = nil) throws(StoreError) -> RunRecording.Outcome
    where Steps.Element == WorkloadStep {
        let info = try self.run(run)
        if info.effectiveStatus == .running {
            throw StoreError(.invalid, path: path, "run \(run) is still being recorded by process \(info.recorderPID ?? 0)")
        }
        if case .kernel(let kernel) = info.backend {
            throw StoreError(.invalid, path: path, "run \(run) ran in \(kernel.label)'s own code, whose helper starts from fresh tables; "
                             + "it cannot be continued, but any point of it can be restored into the engine: pgstore restore --db \(path) \(run):SEQ")
        }
        let last = try lastSeq(of: run)
        let (_, engine, open) = try reconstruct(Point(run: run, seq: last))
        if let call = open.first {
            throw StoreError(.invalid, path: path, "run \(run) ends inside call \(call.seq) (\(call.kind.rawValue)), which was cut "
                             + "before it returned; it cannot be continued, but the point before the call can: "
                             + "pgstore restore --db \(path) \(run):\(call.seq - 1) --into FILE, then record --continue the new run")
        }
        var recording = RunRecording(config: info.config, strategy: info.strategy, source: source, pgstoreVersion: pgstoreVersion)
        recording.existingRun = run
        recording.initialState = engine.captureState()
        recording.writeInitialCheckpoint = true
        recording.initialCalls = info.calls
        recording.batchSize = batchSize
        recording.lenient = lenient
        recording.failOnCallError = failOnCallError
        recording.finalSourceHash = finalSourceHash
        return try recording.record(into: self, steps: steps, progress: progress, stopRequest: stopRequest, onStopInsideCall: onStopInsideCall)
    }
}
