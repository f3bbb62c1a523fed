import Foundation
import GRDB
import GRDBSQLite
import PGSQLiteConfig

/// A pgstore history file: one SQLite database holding many runs.
///
/// Opening checks the file before touching it: a file that is not a pgstore
/// database, or one made by a newer pgstore, is refused and left as it was.
/// Opening for writing applies the missing migrations and marks as
/// `incomplete` the runs whose recorder died.
public final class HistoryStore: @unchecked Sendable {
    public let path: String
    public let readOnly: Bool
    /// The schema version a file had when this store upgraded it on opening
    /// for writing (nil when it was new or already current).
    public private(set) var upgradedFrom: Int?
    let queue: DatabaseQueue

    public enum Mode: Sendable {
        /// Create the file if needed, migrate it, recover interrupted runs.
        case write
        /// Read only; the file must exist. Nothing is written.
        case read
    }

    /// Made once, before the process opens its first database (PGSQLiteConfig).
    private static let sqliteConfigured: Void = { _ = pgsqlite_disable_memstatus() }()

    public init(path: String, mode: Mode) throws(StoreError) {
        HistoryStore.sqliteConfigured
        self.path = path
        self.readOnly = mode == .read
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { throw StoreError(.access, path: path, "is a directory, not a database file") }
        if !exists {
            if mode == .read { throw StoreError(.access, path: path, "no such file") }
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty && !fm.fileExists(atPath: dir) {
                throw StoreError(.access, path: path, "the directory \(dir) does not exist")
            }
        } else {
            try HistoryStore.checkHeader(path)
        }
        do {
            if exists { try HistoryStore.inspect(path) }
            var config = Configuration()
            // A reader leaves the directory as it found it (ReaderOpenRule).
            config.readonly = mode == .read && ReaderOpenRule.readOnly(path)
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in
                if mode == .write {
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                    // Batches commit as they fill and SQLite checkpoints the log
                    // into the file every 8192 pages (32 MiB), not its default
                    // 1000: the pages every batch changes again (the B-trees'
                    // last leaves, the totals) are copied into the file less
                    // often. journal_size_limit keeps the -wal file itself from
                    // staying at its largest size afterwards.
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
                    try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
                } else if !db.configuration.readonly {
                    try db.execute(sql: "PRAGMA query_only = ON")
                }
                try db.execute(sql: "PRAGMA cache_size = -65536")
            }
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch let error as StoreError {
            throw error
        } catch {
            throw HistoryStore.describe(error, path: path, opening: true)
        }
        if mode == .write {
            do {
                let before = try queue.read { db in try Schema.migrator().appliedIdentifiers(db) }.count
                try Schema.migrator().migrate(queue)
                if before > 0 && before < Schema.version { upgradedFrom = before }
                try recoverInterruptedRuns()
            } catch {
                throw HistoryStore.describe(error, path: path, opening: false)
            }
        } else {
            do {
                let applied = try queue.read { db in try Schema.migrator().appliedIdentifiers(db) }
                if applied.isEmpty { throw StoreError(.notPgstore, path: path, "is an empty database, not a pgstore history (record into it first)") }
                if applied.count < Schema.version {
                    throw StoreError(.olderSchema, path: path,
                                     "was written by an older pgstore (schema version \(applied.count); this pgstore reads version \(Schema.version)): "
                                     + "upgrade it with `pgstore migrate \(path)` (reading never changes a file)")
                }
            } catch let error as StoreError {
                throw error
            } catch {
                throw HistoryStore.describe(error, path: path, opening: false)
            }
        }
    }

    /// A file that exists must start like an SQLite database (or be empty).
    static func checkHeader(_ path: String) throws(StoreError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError(.access, path: path, "cannot be read (permission denied)")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        if header.isEmpty { return }
        if header != Data("SQLite format 3\u{0}".utf8) {
            throw StoreError(.notPgstore, path: path, "is not a pgstore database (not an SQLite file); refusing to touch it")
        }
    }

    /// Reads, without writing, whether an SQLite file is a pgstore history this
    /// pgstore can use. Unless the file already has a write-ahead log in use,
    /// it is opened immutable: no lock, no -wal or -shm file is created.
    static func inspect(_ path: String) throws {
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        var handle: OpaquePointer?
        let uri = "file:" + path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)! + (wal > 0 ? "" : "?immutable=1")
        var rc = sqlite3_open_v2(uri, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nil)
        defer { sqlite3_close_v2(handle) }
        guard rc == SQLITE_OK, let db = handle else {
            throw StoreError(.access, path: path, "cannot be opened (\(String(cString: sqlite3_errstr(rc))))")
        }
        func strings(_ sql: String) throws -> [String] {
            var stmt: OpaquePointer?
            rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
            defer { sqlite3_finalize(stmt) }
            guard rc == SQLITE_OK else { throw failure(rc) }
            var out: [String] = []
            while true {
                rc = sqlite3_step(stmt)
                if rc == SQLITE_DONE { return out }
                guard rc == SQLITE_ROW else { throw failure(rc) }
                out.append(sqlite3_column_text(stmt, 0).map { String(cString: $0) } ?? "")
            }
        }
        func failure(_ rc: Int32) -> StoreError {
            let message = String(cString: sqlite3_errmsg(db))
            switch rc & 0xff {
            case SQLITE_NOTADB: return StoreError(.notPgstore, path: path, "is not a pgstore database (\(message)); refusing to touch it")
            case SQLITE_CORRUPT: return StoreError(.notPgstore, path: path, "is damaged (\(message)); refusing to touch it")
            case SQLITE_BUSY, SQLITE_LOCKED: return StoreError(.access, path: path, "is locked by another writer (\(message))")
            default: return StoreError(.sqlite, path: path, "cannot be read (\(message))")
            }
        }
        let appID = Int32(try strings("PRAGMA application_id").first ?? "0") ?? 0
        let tables = try strings("SELECT name FROM sqlite_master WHERE type = 'table'")
        if tables.isEmpty && appID == 0 { return }   // an empty SQLite file: fine to start a history in
        if appID != Schema.applicationID {
            throw StoreError(.notPgstore, path: path, "is an SQLite database but not a pgstore history (application_id \(appID)); refusing to touch it")
        }
        guard tables.contains("grdb_migrations") else {
            throw StoreError(.notPgstore, path: path, "has the pgstore application id but no migration record; refusing to touch it")
        }
        let applied = try strings("SELECT identifier FROM grdb_migrations ORDER BY identifier")
        let unknown = applied.filter { !Schema.identifiers.contains($0) }
        if !unknown.isEmpty {
            throw StoreError(.newerSchema, path: path,
                             "was made by a newer pgstore: schema version \(applied.count) (migrations up to \(applied.last ?? "?")), "
                             + "this pgstore knows version \(Schema.version) (up to \(Schema.identifiers.last ?? "?")); upgrade pgstore to use it")
        }
        // A truncated file: shorter than the pages its header counts.
        if wal == 0 {
            let pages = Int64(try strings("PRAGMA page_count").first ?? "0") ?? 0
            let pageSize = Int64(try strings("PRAGMA page_size").first ?? "0") ?? 0
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
            if size < pages * pageSize {
                throw StoreError(.notPgstore, path: path, "is damaged: \(size) bytes where its header counts \(pages) pages of \(pageSize); refusing to touch it")
            }
        }
    }

    static func describe(_ error: Error, path: String, opening: Bool) -> StoreError {
        if let e = error as? StoreError { return e }
        if let db = error as? DatabaseError {
            switch db.resultCode {
            case .SQLITE_NOTADB:
                return StoreError(.notPgstore, path: path, "is not a pgstore database (\(db.message ?? "not a database")); refusing to touch it")
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
                return StoreError(.access, path: path, "cannot be \(opening ? "opened" : "written") (\(db.message ?? "\(db.resultCode)"))")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return StoreError(.access, path: path, "is locked by another writer (\(db.message ?? "busy")); try again when it has finished")
            case .SQLITE_CORRUPT:
                return StoreError(.notPgstore, path: path, "is damaged (\(db.message ?? "corrupt"))")
            case .SQLITE_FULL:
                return StoreError(.access, path: path, "the disk is full")
            default:
                return StoreError(.sqlite, path: path, "SQLite error \(db.resultCode): \(db.message ?? "")")
            }
        }
        return StoreError(.sqlite, path: path, "\(error)")
    }

    /// Runs left `running` by a recorder that is gone become `incomplete`.
    func recoverInterruptedRuns() throws {
        try queue.write { db in
            let running = try Row.fetchAll(db, sql: "SELECT id, recorder_pid FROM runs WHERE status = 'running'")
            for row in running {
                let pid: Int64? = row["recorder_pid"]
                if let pid, HistoryStore.processIsAlive(pid) { continue }
                try db.execute(sql: """
                    UPDATE runs SET status = 'incomplete', recorder_pid = NULL,
                        message = COALESCE(message, 'the recording process stopped before the run ended')
                    WHERE id = ?
                    """, arguments: [row["id"]])
                try db.execute(sql: """
                    UPDATE run_segments SET status = 'incomplete',
                        message = COALESCE(message, 'the recording process stopped before the segment ended')
                    WHERE run = ? AND status = 'running'
                    """, arguments: [row["id"]])
            }
        }
    }

    static func processIsAlive(_ pid: Int64) -> Bool {
        guard pid > 0, pid != Int64(getpid()) else { return false }
        return kill(pid_t(pid), 0) == 0 || errno == EPERM
    }

    /// Bytes of the file's free pages (`PRAGMA freelist_count`): space an
    /// upgrade that rebuilt a table left behind, reused by later writes.
    public func freeBytes() throws(StoreError) -> Int64 {
        try read { db in
            let pages = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            return pages * size
        }
    }

    /// Read access for queries.
    public func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try queue.read(body) } catch { throw HistoryStore.describe(error, path: path, opening: false) }
    }

    /// Write access in one transaction.
    public func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try queue.write(body) } catch { throw HistoryStore.describe(error, path: path, opening: false) }
    }

    /// Direct access without an implicit transaction, for the recorder, which
    /// commits its own batches. This is the one place that hands out such a
    /// connection, and it owns what is left open: whatever `body` throws, a
    /// transaction it began and did not end is rolled back here, so an error
    /// anywhere in a recording loses only the uncommitted batch and never
    /// leaves the connection inside a transaction.
    public func withConnection<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try queue.writeWithoutTransaction { db in
                do {
                    return try body(db)
                } catch {
                    if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                    throw error
                }
            }
        } catch {
            throw HistoryStore.describe(error, path: path, opening: false)
        }
    }

    public func close() {
        try? queue.close()
    }
}
