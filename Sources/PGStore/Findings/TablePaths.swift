import GRDB

extension HistoryStore {
    /// Paths from the root of every table a run allocated (`L0/3/L1/...`), by table id.
    public func tablePaths(run: Int64) throws(StoreError) -> [Int64: String] {
        try read { db in try Self.tablePaths(run: run, db: db, path: path) }
    }

    /// Every table's path: those the run started with (a restored run's,
    /// from its checkpoint at seq 0, the restored state: each it can name is
    /// still live there, where a later whole state keeps a table freed since
    /// as its id alone), then those it allocated, under either. A damaged
    /// checkpoint is an error naming the file at `path`.
    static func tablePaths(run: Int64, db: Database, path: String) throws -> [Int64: String] {
        var paths: [Int64: String] = [:]
        if let state = try Checkpoints.nearest(run: run, atOrBefore: 0, db: db, path: path) {
            for t in state.tables where !t.freed {
                paths[Int64(t.id)] = t.parent.map { "\(paths[Int64($0)] ?? "?")/\(t.parentIndex)/L\(t.level)" } ?? "L\(t.level)"
            }
        }
        let rows = try Row.fetchAll(db, sql: "SELECT tbl, level, parent, parent_index FROM table_allocs WHERE \(EventKey.idsOfRun1) ORDER BY tbl",
                                    arguments: [run])
        for r in rows {
            let id: Int64 = r["tbl"], level: Int64 = r["level"], parent: Int64 = r["parent"], index: Int64 = r["parent_index"]
            paths[id] = parent < 0 ? "L\(level)" : "\(paths[parent] ?? "?")/\(index)/L\(level)"
        }
        return paths
    }

    /// The paths of `tables` and of the tables above them, each allocation
    /// found by its key (`table_allocs_by_table`): the cost of the tables asked
    /// for, not of the run. Nil when one of them was not allocated in the run
    /// (a restored run's tables come from its checkpoint: ask for all).
    static func tablePaths(run: Int64, of tables: [Int64], db: Database) throws -> [Int64: String]? {
        var paths: [Int64: String] = [:]
        let lookup = try db.cachedStatement(sql: "SELECT level, parent, parent_index FROM table_allocs WHERE run = ? AND tbl = ?")
        func path(_ table: Int64) throws -> String? {
            if let known = paths[table] { return known }
            guard let r = try Row.fetchOne(lookup, arguments: [run, table]) else { return nil }
            let level: Int64 = r["level"], parent: Int64 = r["parent"], index: Int64 = r["parent_index"]
            let p: String
            if parent < 0 {
                p = "L\(level)"
            } else {
                guard let above = try path(parent) else { return nil }
                p = "\(above)/\(index)/L\(level)"
            }
            paths[table] = p
            return p
        }
        for t in tables where try path(t) == nil { return nil }
        return paths
    }
}
