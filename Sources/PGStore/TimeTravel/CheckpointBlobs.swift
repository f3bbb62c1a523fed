import GRDB
import GRDBSQLite
import PGEngine

/// Reads checkpoint blobs with SQLite's incremental blob I/O
/// (`sqlite3_blob_read`) into one buffer reused for all of them. Read as
/// column values, each blob got a fresh buffer from SQLite a few bytes
/// larger than the one freed before it (a 20M-event map_sg's 8 MB of
/// checkpoints faulted in as much new memory, each time it was read), and
/// a blob's first bytes, for its kind, cost the whole blob: `substr` of a
/// blob reads all of it.
struct CheckpointBlobs {
    private let connection: OpaquePointer
    private let path: String
    private let run: Int64
    private var handle: OpaquePointer?
    private var buffer: [UInt8] = []

    init?(_ db: Database, run: Int64, path: String) {
        guard let connection = db.sqliteConnection else { return nil }
        self.connection = connection
        self.run = run
        self.path = path
    }

    /// One checkpoint of a chain: its row, its seq and its blob's first
    /// ``Checkpoints/headerBytes`` bytes.
    struct Row {
        var rowid: Int64
        var seq: Int64
        var head: [UInt8]
    }

    /// The chain of checkpoints a state at `seq` loads from, ascending: back
    /// from the latest at or before `seq` to the whole state its deltas
    /// start from, by their headers alone (SQLite reads only a blob's first
    /// page for them). Empty when the run has none; an error when deltas
    /// have no whole state under them.
    mutating func chain(_ db: Database, through seq: Int64) throws -> [Row] {
        let rows = try GRDB.Row.fetchCursor(db, sql: "SELECT rowid, seq, state IS NULL FROM checkpoints WHERE run = ? AND seq <= ? ORDER BY seq DESC",
                                            arguments: [run, seq])
        var chain: [Row] = []
        while let row = try rows.next() {
            let rowid: Int64 = row[0], rowSeq: Int64 = row[1]
            guard !(row[2] as Bool) else { throw StoreError(.invalid, path: path, "run \(run) has a checkpoint with no state at seq \(rowSeq)") }
            let head = try read(rowid: rowid, seq: rowSeq, prefix: Checkpoints.headerBytes) { [UInt8]($0) }
            chain.append(Row(rowid: rowid, seq: rowSeq, head: head))
            if try StateCodec.kind(of: head) == .full { return chain.reversed() }
        }
        if chain.isEmpty { return [] }
        throw StoreError(.invalid, path: path, "run \(run) has checkpoint deltas before seq \(seq) with no whole state to start from")
    }

    /// `body` over the blob of row `rowid` (the checkpoint at `seq`), or
    /// over its first `prefix` bytes: valid only during the call.
    mutating func read<T>(rowid: Int64, seq: Int64, prefix: Int? = nil, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let opened = handle == nil ? sqlite3_blob_open(connection, "main", "checkpoints", "state", rowid, 0, &handle)
                                   : sqlite3_blob_reopen(handle, rowid)
        guard opened == SQLITE_OK, let blob = handle else { throw failure(seq) }
        let size = Int(sqlite3_blob_bytes(blob))
        let count = min(size, prefix ?? size)
        if buffer.count < count { buffer = [UInt8](repeating: 0, count: max(count, buffer.count * 2)) }
        let read = buffer.withUnsafeMutableBytes { sqlite3_blob_read(blob, $0.baseAddress, Int32(count), 0) }
        guard read == SQLITE_OK else { throw failure(seq) }
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    private func failure(_ seq: Int64) -> StoreError {
        StoreError(.sqlite, path: path, "reading the checkpoint of run \(run) at seq \(seq): \(String(cString: sqlite3_errmsg(connection)))")
    }

    /// Releases the blob handle: before the transaction it was read in ends.
    mutating func close() {
        if let handle { sqlite3_blob_close(handle) }
        handle = nil
    }
}
