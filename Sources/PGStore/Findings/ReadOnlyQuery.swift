import Foundation
import GRDB
import GRDBSQLite

/// Runs users' SQL against a history without any way to change it: the file
/// is opened read-only, the connection is `query_only`, an authorizer denies
/// every action that writes, attaches or changes pragmas, and every statement
/// must be read-only before any of them runs.
public enum ReadOnlyQuery {
    public struct Result: Sendable {
        public var columns: [String]
        /// Values as SQLite gave them: Int64, Double, String, [UInt8] (blob) or nil.
        public var rows: [[Value]]
    }

    public enum Value: Sendable, Equatable {
        case integer(Int64), real(Double), text(String), blob([UInt8]), null
    }

    public struct Refused: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Pragmas that only read.
    static let readOnlyPragmas: Set<String> = [
        "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list", "database_list",
        "collation_list", "function_list", "pragma_list", "compile_options", "page_count", "page_size", "user_version",
        "application_id", "schema_version", "freelist_count", "encoding", "integrity_check", "quick_check", "table_list",
    ]

    public static func run(_ sql: String, path: String) throws(StoreError) -> Result {
        var handle: OpaquePointer?
        // As HistoryStore's readers (ReaderOpenRule); read-write handles are
        // kept query-only here and by the authorizer below.
        let rc = sqlite3_open_v2(path, &handle, ReaderOpenRule.readOnly(path) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, nil)
        defer { sqlite3_close_v2(handle) }
        guard rc == SQLITE_OK, let db = handle else {
            throw StoreError(.access, path: path, "cannot be opened for reading (\(String(cString: sqlite3_errstr(rc))))")
        }
        sqlite3_busy_timeout(db, 10_000)
        sqlite3_exec(db, "PRAGMA query_only = 1", nil, nil, nil)
        sqlite3_set_authorizer(db, { _, action, arg1, _, _, _ in
            switch action {
            case SQLITE_SELECT, SQLITE_READ, SQLITE_FUNCTION, SQLITE_RECURSIVE: return SQLITE_OK
            case SQLITE_TRANSACTION, SQLITE_SAVEPOINT: return SQLITE_OK
            case SQLITE_PRAGMA:
                let name = arg1.map { String(cString: $0).lowercased() } ?? ""
                return ReadOnlyQuery.readOnlyPragmas.contains(name) ? SQLITE_OK : SQLITE_DENY
            default: return SQLITE_DENY
            }
        }, nil)

        // Prepare every statement first: nothing runs unless all of them may.
        var statements: [OpaquePointer] = []
        defer { for s in statements { sqlite3_finalize(s) } }
        let remaining = sql.utf8CString
        var offset = 0
        while true {
            var stmt: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            let prc = remaining.withUnsafeBufferPointer { buf -> Int32 in
                let start = buf.baseAddress! + offset
                let r = sqlite3_prepare_v2(db, start, -1, &stmt, &tail)
                if let tail { offset = tail - buf.baseAddress! }
                return r
            }
            if prc == SQLITE_AUTH {
                throw StoreError(.invalid, path: path, "refused: pgstore query is read-only and this statement would change the file or the connection (\(String(cString: sqlite3_errmsg(db))))")
            }
            guard prc == SQLITE_OK else {
                throw StoreError(.invalid, path: path, "SQL error: \(String(cString: sqlite3_errmsg(db)))")
            }
            guard let s = stmt else { break }   // only whitespace or comments left
            statements.append(s)
            if sqlite3_stmt_readonly(s) == 0 {
                throw StoreError(.invalid, path: path, "refused: pgstore query is read-only and this statement writes: \(String(cString: sqlite3_sql(s)))")
            }
            if offset >= remaining.count - 1 { break }
        }
        guard !statements.isEmpty else { throw StoreError(.invalid, path: path, "no SQL statement given") }

        var result = Result(columns: [], rows: [])
        for s in statements {
            let n = sqlite3_column_count(s)
            var columns: [String] = []
            for i in 0..<n { columns.append(String(cString: sqlite3_column_name(s, i))) }
            var rows: [[Value]] = []
            while true {
                let step = sqlite3_step(s)
                if step == SQLITE_DONE { break }
                guard step == SQLITE_ROW else {
                    throw StoreError(.invalid, path: path, "SQL error: \(String(cString: sqlite3_errmsg(db)))")
                }
                var row: [Value] = []
                for i in 0..<n {
                    switch sqlite3_column_type(s, i) {
                    case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(s, i)))
                    case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(s, i)))
                    case SQLITE_TEXT: row.append(.text(String(cString: sqlite3_column_text(s, i))))
                    case SQLITE_BLOB:
                        let count = Int(sqlite3_column_bytes(s, i))
                        let base = sqlite3_column_blob(s, i)?.assumingMemoryBound(to: UInt8.self)
                        row.append(.blob(base.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []))
                    default: row.append(.null)
                    }
                }
                rows.append(row)
            }
            // The last statement that returns columns is the one shown.
            if n > 0 { result = Result(columns: columns, rows: rows) }
        }
        return result
    }
}
