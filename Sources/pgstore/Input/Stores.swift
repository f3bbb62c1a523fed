import PGStore

/// Opening history files for commands, with errors that name the file.
enum Stores {
    static func read(_ path: String) throws -> HistoryStore {
        do { return try HistoryStore(path: path, mode: .read) } catch { throw PgstoreError(error.description) }
    }

    static func write(_ path: String) throws -> HistoryStore {
        do { return try HistoryStore(path: path, mode: .write) } catch { throw PgstoreError(error.description) }
    }

    /// Runs `body`, turning store errors into command errors.
    static func run<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StoreError {
            throw PgstoreError(error.description)
        }
    }
}
