import GRDB
import GRDBSQLite
import PGEngine

/// Reads a run's events back from its tables, in order. Reconstruction spends
/// its time here, so it steps SQLite statements directly and reads columns by
/// position.
enum EventReader {
    /// Events of `run` with `after < seq <= through`. With `topLevelCallsOnly`
    /// (what state replay needs), the begin and end events of nested calls are
    /// left out: they change no state.
    static func events(run: Int64, after: Int64, through: Int64, db: Database, topLevelCallsOnly: Bool = true) throws -> [Event] {
        let depth = topLevelCallsOnly ? " AND depth = 0" : ""
        guard let connection = db.sqliteConnection else { return [] }
        var out: [Event] = []
        // One event a seq at most: room for them all (up to a bound), so the
        // array does not copy, and fault in, itself at each doubling.
        out.reserveCapacity(Int(min(max(through - after, 0), 1 << 20)))
        // The event tables are keyed by EventKey: the range is ?4 < id <= ?5.
        let keys = EventKey.range(run: run, after: after, through: through)
        func each(_ sql: String, _ body: (OpaquePointer) -> Event) throws {
            var stmt: OpaquePointer?
            guard sqlite3_prepare_v2(connection, sql, -1, &stmt, nil) == SQLITE_OK, let s = stmt else {
                throw StoreError(.sqlite, path: "", "reading events: \(String(cString: sqlite3_errmsg(connection)))")
            }
            defer { sqlite3_finalize(s) }
            sqlite3_bind_int64(s, 1, run)
            sqlite3_bind_int64(s, 2, after)
            sqlite3_bind_int64(s, 3, through)
            sqlite3_bind_int64(s, 4, keys.0)
            sqlite3_bind_int64(s, 5, keys.1)
            sqlite3_bind_int64(s, 6, EventKey.id(run: run, seq: 0))
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { return }
                guard rc == SQLITE_ROW else {
                    throw StoreError(.sqlite, path: "", "reading events: \(String(cString: sqlite3_errmsg(connection)))")
                }
                out.append(body(s))
            }
        }
        @inline(__always) func i(_ s: OpaquePointer, _ c: Int32) -> Int { Int(sqlite3_column_int64(s, c)) }
        @inline(__always) func u(_ s: OpaquePointer, _ c: Int32) -> UInt64 { UInt64(bitPattern: sqlite3_column_int64(s, c)) }

        // Begin events: of calls that returned, and of calls a recording was cut inside (no end event).
        for range in ["calls WHERE id > ?4 AND id <= ?5", "unfinished_calls WHERE run = ?1 AND seq > ?2 AND seq <= ?3"] {
            try each("SELECT seq, parent, kind, iova, paddr, size, count, prot FROM \(range)" + depth) { s in
                let call = Call(kind: CallKind(code: i(s, 2)) ?? .access, iova: u(s, 3), paddr: u(s, 4), size: u(s, 5), count: u(s, 6),
                                prot: Prot(rawValue: i(s, 7)))
                return Event(seq: u(s, 0), call: u(s, 1), payload: .callBegin(call))
            }
        }
        try each("SELECT end_seq, seq, kind, ret, value FROM calls WHERE run = ?1 AND end_seq > ?2 AND end_seq <= ?3"
                 + (topLevelCallsOnly ? depth : " AND id > ?6 AND id <= ?5")) { s in
            Event(seq: u(s, 0), call: u(s, 1),
                  payload: .callEnd(CallKind(code: i(s, 2)) ?? .access, CallResult(ret: sqlite3_column_int64(s, 3), value: u(s, 4))))
        }
        try each("SELECT seq, call, tbl, idx, level, iova, old, new FROM writes WHERE id > ?4 AND id <= ?5") { s in
            Event(seq: u(s, 0), call: u(s, 1),
                  payload: .write(table: i(s, 2), index: i(s, 3), level: i(s, 4), iova: u(s, 5), old: u(s, 6), new: u(s, 7)))
        }
        try each("SELECT seq, call, tbl, idx, count, first_line, lines, already_clean, reason FROM cleans WHERE id > ?4 AND id <= ?5") { s in
            Event(seq: u(s, 0), call: u(s, 1),
                  payload: .clean(table: i(s, 2), index: i(s, 3), count: i(s, 4), firstLine: i(s, 5), lines: i(s, 6),
                                  alreadyClean: i(s, 7), reason: CleanReason(rawValue: UInt8(truncatingIfNeeded: i(s, 8))) ?? .descriptors))
        }
        try each("SELECT seq, call, op, iova, size, granule FROM tlb_ops WHERE id > ?4 AND id <= ?5") { s in
            let payload: EventPayload
            switch i(s, 2) {
            case 3: payload = .addPage(iova: u(s, 3), granule: u(s, 5))
            case 0: payload = .invalidate(kind: .all, iova: u(s, 3), size: u(s, 4), granule: u(s, 5))
            case 1: payload = .invalidate(kind: .walk, iova: u(s, 3), size: u(s, 4), granule: u(s, 5))
            default: payload = .invalidate(kind: .leaf, iova: u(s, 3), size: u(s, 4), granule: u(s, 5))
            }
            return Event(seq: u(s, 0), call: u(s, 1), payload: payload)
        }
        try each("SELECT seq, call, tbl, pa, bytes, alloc_bytes, level, parent, parent_index, iova_base FROM table_allocs WHERE id > ?4 AND id <= ?5") { s in
            let parent = i(s, 7)
            let info = TableInfo(id: i(s, 2), pa: u(s, 3), bytes: u(s, 4), allocBytes: u(s, 5), level: i(s, 6),
                                 parent: parent < 0 ? nil : parent, parentIndex: i(s, 8), iovaBase: u(s, 9))
            return Event(seq: u(s, 0), call: u(s, 1), payload: .tableAlloc(info))
        }
        try each("SELECT seq, call, tbl FROM table_frees WHERE id > ?4 AND id <= ?5") { s in
            Event(seq: u(s, 0), call: u(s, 1), payload: .tableFree(table: i(s, 2)))
        }
        try each("""
            SELECT seq, call, iova, is_write, outcome, pa, tlb_hit, stale_read, stale_tlb, stale_tbl, stale_idx, stale_cpu, stale_memory
            FROM accesses WHERE id > ?4 AND id <= ?5
            """) { s in
            let a = AccessRecord(iova: u(s, 2), write: i(s, 3) != 0, outcome: AccessOutcome(rawValue: UInt8(truncatingIfNeeded: i(s, 4))) ?? .translated,
                                 pa: u(s, 5), tlbHit: i(s, 6) != 0, staleRead: i(s, 7) != 0, staleTLB: i(s, 8) != 0,
                                 staleTable: i(s, 9), staleIndex: i(s, 10), staleCPUValue: u(s, 11), staleMemoryValue: u(s, 12))
            return Event(seq: u(s, 0), call: u(s, 1), payload: .access(a))
        }
        try each("SELECT seq, call, code FROM warnings WHERE id > ?4 AND id <= ?5") { s in
            Event(seq: u(s, 0), call: u(s, 1), payload: .warn(Warning(rawValue: UInt8(truncatingIfNeeded: i(s, 2))) ?? .badPageSize))
        }
        out.sort { $0.seq < $1.seq }
        return out
    }
}
