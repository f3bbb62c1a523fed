import GRDB

extension HistoryStore {
    /// Paths from the root of every table a run allocated (`L0/3/L1/...`), by table id.
    public func tablePaths(run: Int64) throws(StoreError) -> [Int64: String] {
        let rows = try read { db in
            try Row.fetchAll(db, sql: "SELECT tbl, level, parent, parent_index FROM table_allocs WHERE \(EventKey.idsOfRun1) ORDER BY tbl", arguments: [run])
        }
        var paths: [Int64: String] = [:]
        for r in rows {
            let id: Int64 = r["tbl"], level: Int64 = r["level"], parent: Int64 = r["parent"], index: Int64 = r["parent_index"]
            paths[id] = parent < 0 ? "L\(level)" : "\(paths[parent] ?? "?")/\(index)/L\(level)"
        }
        // A restored run inherits its tables from its checkpoint.
        if paths.isEmpty, let state = try? read({ db in try Checkpoints.nearest(run: run, atOrBefore: .max, db: db) }) {
            for t in state.tables {
                paths[Int64(t.id)] = t.parent.map { "\(paths[Int64($0)] ?? "?")/\(t.parentIndex)/L\(t.level)" } ?? "L\(t.level)"
            }
        }
        return paths
    }
}
