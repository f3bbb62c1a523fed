import GRDB

/// A moment in a run's history: the state after event `seq` of run `run`.
public struct Point: Sendable, Hashable, CustomStringConvertible {
    public var run: Int64
    public var seq: Int64
    public var description: String { "\(run):\(seq)" }
    public init(run: Int64, seq: Int64) {
        self.run = run
        self.seq = seq
    }
}

extension HistoryStore {
    /// Resolves a point: `RUN:SEQ`, `RUN:latest`, `RUN:NAME` (run RUN's snapshot
    /// NAME), `NAME` (the snapshot NAME of the latest run that has one) or
    /// `latest` (the last run's end).
    public func resolve(_ text: String) throws(StoreError) -> Point {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if text == "latest" {
            let last = try read { db in try Int64.fetchOne(db, sql: "SELECT max(id) FROM runs") }
            guard let run = last else { throw StoreError(.notFound, path: path, "has no runs, so no point \"latest\"") }
            return Point(run: run, seq: try lastSeq(of: run))
        }
        if parts.count == 2, let run = Int64(parts[0]) {
            let info = try self.run(run)
            let last = try lastSeq(of: info.id)
            if parts[1] == "latest" { return Point(run: run, seq: last) }
            guard let seq = Int64(parts[1]) else {
                let name = String(parts[1])
                let seq = try read { db in
                    try Int64.fetchOne(db, sql: "SELECT seq FROM snapshots WHERE run = ? AND name = ?", arguments: [run, name])
                }
                guard let seq else {
                    throw StoreError(.notFound, path: path, "run \(run) has no snapshot named \"\(name)\" (a point is RUN:SEQ, RUN:latest, RUN:NAME, NAME or latest)")
                }
                return Point(run: run, seq: seq)
            }
            guard seq >= 0 else {
                throw StoreError(.invalid, path: path, "point \(text): SEQ must be a number from 0")
            }
            guard seq <= last else {
                throw StoreError(.notFound, path: path, "point \(text) is beyond the end of run \(run), which has \(last) events")
            }
            return Point(run: run, seq: seq)
        }
        let snap = try read { db in
            try Row.fetchOne(db, sql: "SELECT run, seq FROM snapshots WHERE name = ? ORDER BY run DESC LIMIT 1", arguments: [text])
        }
        guard let snap else {
            throw StoreError(.notFound, path: path, "no snapshot named \"\(text)\" (a point is RUN:SEQ, RUN:latest, RUN:NAME, NAME or latest)")
        }
        return Point(run: snap["run"], seq: snap["seq"])
    }

    /// The last event of a run.
    public func lastSeq(of run: Int64) throws(StoreError) -> Int64 {
        try read { db in
            let lo = EventKey.id(run: run, seq: 0), hi = EventKey.id(run: run, seq: EventKey.maxSeq)
            var last: Int64 = 0
            for table in ["writes", "cleans", "tlb_ops", "table_allocs", "table_frees", "accesses", "warnings"] {
                let key = try Int64.fetchOne(db, sql: "SELECT max(id) FROM \(table) WHERE id BETWEEN ? AND ?", arguments: [lo, hi]) ?? lo
                last = max(last, key - lo)
            }
            last = max(last, try Int64.fetchOne(db, sql: "SELECT max(seq) FROM unfinished_calls WHERE run = ?", arguments: [run]) ?? 0)
            // Top-level calls do not overlap: a call that ends after the last
            // top-level end began after it (inside a call left unfinished).
            let topEnd = try Int64.fetchOne(db, sql: "SELECT max(end_seq) FROM calls WHERE run = ? AND depth = 0", arguments: [run]) ?? 0
            let innerEnd = try Int64.fetchOne(db, sql: "SELECT max(end_seq) FROM calls WHERE id > ? AND id <= ?",
                                              arguments: [EventKey.id(run: run, seq: topEnd), hi]) ?? 0
            last = max(last, topEnd, innerEnd)
            last = max(last, try Int64.fetchOne(db, sql: "SELECT max(seq) FROM checkpoints WHERE run = ?", arguments: [run]) ?? 0)
            return last
        }
    }
}
