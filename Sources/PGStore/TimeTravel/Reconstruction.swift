import GRDB
import PGEngine

extension HistoryStore {
    /// The engine as it was at `point`: the nearest checkpoint at or before it,
    /// then the run's events up to it. Costs the state's size plus the events
    /// since that checkpoint, whatever the length of the history.
    public func reconstruct(_ point: Point) throws(StoreError) -> (run: RunInfo, engine: IOPageTable<NullSink>, openCalls: [EngineState.OpenCall]) {
        try reconstruct(point, advancing: nil)
    }

    /// The engine at `point`, holding exactly only what `scope` names
    /// (``ReadScope/selection(skeleton:words:events:engine:)``): the tables,
    /// TLB, allocator and dirty lines whole, the words of table memory
    /// outside the scope 0 in both views. For reading what the scope names
    /// (a windowed dump, a diff), the counts of dirty lines and stale
    /// descriptors included; never for restoring or continuing a run. Costs
    /// the checkpoints' size read twice and the scope's tables decoded,
    /// not the whole state decoded.
    public func reconstruct(_ point: Point, reading scope: ReadScope) throws(StoreError)
        -> (run: RunInfo, engine: IOPageTable<NullSink>, openCalls: [EngineState.OpenCall]) {
        try reconstruct(point, advancing: nil, scope: scope)
    }

    /// The same, advancing `earlier` (the engine at an earlier point of the
    /// same run) in place when no checkpoint lies between the two points: the
    /// second state of a diff then costs the events between them, not a copy
    /// of the first. `earlier`'s engine is not to be read afterwards.
    /// With `scope`, a state made afresh is decoded only as far as it needs
    /// (``reconstruct(_:reading:)``); `earlier` must then have been made with
    /// the same scope.
    func reconstruct(_ point: Point, advancing earlier: (seq: Int64, engine: IOPageTable<NullSink>, openCalls: [EngineState.OpenCall])?,
                     scope: ReadScope? = nil)
        throws(StoreError) -> (run: RunInfo, engine: IOPageTable<NullSink>, openCalls: [EngineState.OpenCall]) {
        let info = try run(point.run)
        return try read { db in
            let engine: IOPageTable<NullSink>
            var open: [EngineState.OpenCall] = []
            var from: Int64 = 0
            var events: [Event]?
            do {
                if let earlier, earlier.seq <= point.seq,
                   try Checkpoints.nearestSeq(run: point.run, atOrBefore: point.seq, db: db) ?? 0 <= earlier.seq {
                    engine = earlier.engine
                    open = earlier.openCalls
                    from = earlier.seq
                } else if let scope {
                    // The events after the checkpoint say what else the state must hold.
                    engine = try IOPageTable(config: info.config, strategy: info.strategy, sink: NullSink(), blank: true)
                    from = try Checkpoints.nearestSeq(run: point.run, atOrBefore: point.seq, db: db) ?? 0
                    let through = max(point.seq, scope.replayThrough ?? point.seq)
                    let after = try EventReader.events(run: point.run, after: from, through: through, db: db)
                    events = after
                    var absent: [Int: Int] = [:]
                    if let checkpoint = try Checkpoints.nearest(run: point.run, atOrBefore: point.seq, db: db, path: path, select: { skeleton, words, stale in
                        let chosen = scope.selection(skeleton: skeleton, words: words, stale: stale, events: after, engine: engine)
                        absent = chosen.absentStale
                        return chosen.words
                    }) {
                        engine.load(checkpoint)
                        engine.setAbsentStale(absent)
                        open = checkpoint.openCalls
                        from = Int64(checkpoint.seq)
                    }
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
            for event in try events ?? EventReader.events(run: point.run, after: from, through: point.seq, db: db) {
                if event.seq > point.seq { break }
                replayer.apply(event)
            }
            engine.setSeq(UInt64(point.seq))
            return (info, engine, replayer.openCalls)
        }
    }
}
