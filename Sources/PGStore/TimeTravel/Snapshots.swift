import GRDB
import PGEngine

public struct SnapshotInfo: Sendable, Hashable {
    public var name: String
    public var run: Int64
    public var seq: Int64
    public var createdAt: String
}

extension HistoryStore {
    /// Names a point. Names are unique in a file: a clash is an error.
    public func createSnapshot(_ name: String, at point: Point) throws(StoreError) {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.:/@".contains($0) }),
              !name.contains(":") || Int64(name.split(separator: ":").first ?? "") == nil, name != "latest" else {
            throw StoreError(.invalid, path: path, "\"\(name)\" cannot name a snapshot (letters, digits and _ - . / @; not latest, not RUN:SEQ)")
        }
        try write { db in
            if let existing = try Row.fetchOne(db, sql: "SELECT run, seq FROM snapshots WHERE name = ?", arguments: [name]) {
                throw StoreError(.invalid, path: path, "a snapshot named \"\(name)\" already exists (run \(existing["run"] as Int64), seq \(existing["seq"] as Int64))")
            }
            try db.execute(sql: "INSERT INTO snapshots (name, run, seq, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, point.run, point.seq, RunInfo.now()])
        }
    }

    public func snapshots() throws(StoreError) -> [SnapshotInfo] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM snapshots ORDER BY run, seq, name").map {
                SnapshotInfo(name: $0["name"], run: $0["run"], seq: $0["seq"], createdAt: $0["created_at"])
            }
        }
    }
}
