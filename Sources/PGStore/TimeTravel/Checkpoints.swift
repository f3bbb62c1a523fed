import Foundation
import GRDB
import PGEngine

/// Writing and finding checkpoints.
enum Checkpoints {
    static func write(_ state: EngineState, run: Int64, db: Database) throws {
        try write(encoded: StateCodec.encode(state), seq: state.seq, run: run, db: db)
    }

    static func write(encoded bytes: [UInt8], seq: UInt64, run: Int64, db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO checkpoints (run, seq, bytes, state) VALUES (?, ?, ?, ?)",
                       arguments: [run, Int64(seq), bytes.count, Data(bytes)])
    }

    /// The latest checkpoint of `run` at or before `seq`.
    static func nearest(run: Int64, atOrBefore seq: Int64, db: Database) throws -> EngineState? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT state FROM checkpoints WHERE run = ? AND seq <= ? ORDER BY seq DESC LIMIT 1
            """, arguments: [run, seq]) else { return nil }
        let data: Data = row["state"]
        do {
            return try StateCodec.decode([UInt8](data))
        } catch {
            throw StoreError(.invalid, path: "", "run \(run) has a damaged checkpoint before seq \(seq): \(error)")
        }
    }
}
