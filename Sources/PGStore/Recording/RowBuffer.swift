import GRDB
import GRDBSQLite

/// One table's rows on their way into the file: gathered `rowsPerStatement`
/// at a time and inserted by one multi-row `INSERT … VALUES (…), (…), …`
/// (the event tables; the line and table totals, by `INSERT OR REPLACE`).
///
/// A single-row INSERT pays SQLite's per-statement work (starting the VDBE
/// program, opening the table's cursor, halting, resetting) for every event;
/// bound 32 rows a statement it is paid once per 32. Measured with
/// tools/sqlite-insert-limit.c on a churn recording's rows, that lifts
/// pgstore's schema from about 0.7 to about 1.0 of the simplest one-table,
/// one-row-a-statement program (docs/PERFORMANCE.md).
///
/// Rows keep their order within the table; tables are independent (every
/// event table is keyed by its own `(run << 40) | seq`), so a buffer may
/// hold rows while another table's are stepped. ``flush()`` writes what is
/// left, one row a statement; the recorder flushes every buffer before each
/// commit, so a batch holds exactly the events it says it does.
final class RowBuffer {
    static let rowsPerStatement = 32

    let columns: Int
    private let one: Statement
    private let many: Statement
    private let values: UnsafeMutablePointer<Int64>
    private var filled = 0
    private let capacity: Int

    /// `verb`: `INSERT`, or `INSERT OR REPLACE` for rows that overwrite their key's.
    init(db: Database, table: String, columns names: [String], verb: String = "INSERT") throws {
        columns = names.count
        capacity = columns * Self.rowsPerStatement
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
        let head = "\(verb) INTO \(table) (\(names.joined(separator: ","))) VALUES "
        one = try db.makeStatement(sql: head + row)
        many = try db.makeStatement(sql: head + Array(repeating: row, count: Self.rowsPerStatement).joined(separator: ","))
        values = .allocate(capacity: capacity)
    }

    deinit { values.deallocate() }

    /// Adds one row (its first `columns` values); steps the multi-row
    /// statement when `rowsPerStatement` rows are gathered. Returns SQLite's
    /// result code when a step failed, nil otherwise.
    @inline(__always)
    func append(_ row: UnsafeRawBufferPointer) -> Int32? {
        let v = row.bindMemory(to: Int64.self)
        let base = values + filled
        for i in 0..<columns { base[i] = v[i] }
        filled += columns
        guard filled == capacity else { return nil }
        filled = 0
        return Self.step(many, values, capacity)
    }

    /// Writes the gathered rows, one a statement. Returns SQLite's result
    /// code when a step failed, nil otherwise; the buffer is empty either way.
    func flush() -> Int32? {
        var failure: Int32?
        var at = 0
        while at < filled {
            if let rc = Self.step(one, values + at, columns), failure == nil { failure = rc }
            at += columns
        }
        filled = 0
        return failure
    }

    /// Binds `count` values from `v` to `statement` and steps it once.
    /// Returns SQLite's result code when the step failed, nil otherwise.
    @inline(__always)
    static func step(_ statement: Statement, _ v: UnsafePointer<Int64>, _ count: Int) -> Int32? {
        let handle = statement.sqliteStatement
        for i in 0..<count { sqlite3_bind_int64(handle, Int32(i + 1), v[i]) }
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        return rc == SQLITE_DONE ? nil : rc
    }
}
