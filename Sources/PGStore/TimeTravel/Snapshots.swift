import GRDB
import PGEngine

/// A named point of one run (`snapshots`). Names are unique within a run, so
/// recording the same script again, or under several strategies, gives each
/// run its own `mapped`; `RUN:NAME` names one of them and a bare `NAME` the
/// latest run that has it.
public struct SnapshotInfo: Sendable, Hashable {
    public var name: String
    public var run: Int64
    public var seq: Int64
    public var createdAt: String
}

/// What a snapshot may be called.
public enum SnapshotName {
    /// Why `name` cannot name a snapshot, or nil when it can: letters, digits
    /// and `_ - . / @`, not starting with a digit-only `RUN:` part, not `latest`.
    public static func problem(_ name: String) -> String? {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_-./@".contains($0) }),
              name != "latest", Int64(name) == nil else {
            return "\"\(name)\" cannot name a snapshot (letters, digits and _ - . / @; not a number, not latest)"
        }
        return nil
    }
}

extension HistoryStore {
    /// Names a point. A name is unique within its run: a clash is an error.
    public func createSnapshot(_ name: String, at point: Point) throws(StoreError) {
        if let problem = SnapshotName.problem(name) { throw StoreError(.invalid, path: path, problem) }
        try write { db in
            if let seq = try Int64.fetchOne(db, sql: "SELECT seq FROM snapshots WHERE run = ? AND name = ?", arguments: [point.run, name]) {
                throw StoreError(.invalid, path: path, "run \(point.run) already has a snapshot named \"\(name)\" (at \(point.run):\(seq))")
            }
            try db.execute(sql: "INSERT INTO snapshots (run, name, seq, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [point.run, name, point.seq, RunInfo.now()])
        }
    }

    /// Every snapshot name of a run.
    public func snapshotNames(in run: Int64) throws(StoreError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT name FROM snapshots WHERE run = ?", arguments: [run]) }
    }

    public func snapshots() throws(StoreError) -> [SnapshotInfo] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM snapshots ORDER BY run, seq, name").map {
                SnapshotInfo(name: $0["name"], run: $0["run"], seq: $0["seq"], createdAt: $0["created_at"])
            }
        }
    }
}
