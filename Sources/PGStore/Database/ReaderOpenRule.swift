import Foundation

/// How a reader opens a history so that it leaves the directory as it found it.
///
/// With no write-ahead log in use, a reader opens the file read-write but
/// query-only: SQLite then removes the -wal and -shm files it needed when the
/// reader closes (a read-only connection cannot remove them). With a log in
/// use (a writer is recording, or one died), it opens read-only and the files
/// it finds stay. `HistoryStore`'s readers and `ReadOnlyQuery` both follow it.
enum ReaderOpenRule {
    /// True when `path` has a write-ahead log beside it.
    static func walInUse(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "-wal")
    }

    /// Whether a reader of `path` must open it read-only (else read-write, query-only).
    static func readOnly(_ path: String) -> Bool { walInUse(path) }
}
