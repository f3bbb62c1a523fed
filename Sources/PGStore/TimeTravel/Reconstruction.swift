import GRDB
import PGEngine

extension HistoryStore {
    /// The engine as it was at `point`: the nearest checkpoint at or before it,
    /// then the run's events up to it. Costs the state's size plus the events
    /// since that checkpoint, whatever the length of the history.
    public func reconstruct(_ point: Point) throws(StoreError) -> (run: RunInfo, engine: IOPageTable<NullSink>, openCalls: [EngineState.OpenCall]) {
        try reconstruct(point, advancing: nil)
    }

    /// The same, advancing `earlier` (the engine at an earlier point of the
    /// same run) in place when no checkpoint lies between the two points: the
    /// second state of a diff then costs the events between them, not a copy
    /// of the first. `earlier`'s engine is not to be read afterwards.
    func reconstruct(_ point: Point, advancing earlier: (seq: Int64, engine: IOPageTable<NullSink>, openCalls: [EngineState.OpenCall])?)
        throws(StoreError) -> (run: RunInfo, engine: IOPageTable<NullSink>, openCalls: [EngineState.OpenCall]) {
        let info = try run(point.run)
        return try read { db in
            let engine: IOPageTable<NullSink>
            var open: [EngineState.OpenCall] = []
            var from: Int64 = 0
            do {
                if let earlier, earlier.seq <= point.seq,
                   try Checkpoints.nearestSeq(run: point.run, atOrBefore: point.seq, db: db) ?? 0 <= earlier.seq {
                    engine = earlier.engine
                    open = earlier.openCalls
                    from = earlier.seq
                } else if let checkpoint = try Checkpoints.nearest(run: point.run, atOrBefore: point.seq, db: db, path: path) {
                    engine = try IOPageTable(config: info.config, strategy: info.strategy, state: checkpoint, sink: NullSink())
                    open = checkpoint.openCalls
                    from = Int64(checkpoint.seq)
                } else {
                    engine = try IOPageTable(config: info.config, strategy: info.strategy, sink: NullSink(), blank: true)
                }
            } catch let error as ConfigError {
                throw StoreError(.invalid, path: path, "run \(point.run) has a configuration this pgstore refuses: \(error.reason)")
            }
            var replayer = StateReplayer(engine: engine, openCalls: open)
            for event in try EventReader.events(run: point.run, after: from, through: point.seq, db: db) {
                replayer.apply(event)
            }
            engine.setSeq(UInt64(point.seq))
            return (info, engine, replayer.openCalls)
        }
    }
}
