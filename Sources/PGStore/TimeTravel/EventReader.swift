import GRDB
import PGEngine

/// Reads a run's events back from its tables, in order.
enum EventReader {
    /// Events of `run` with `after < seq <= through`.
    static func events(run: Int64, after: Int64, through: Int64, db: Database) throws -> [Event] {
        var out: [Event] = []
        let args: StatementArguments = [run, after, through]
        func u(_ row: Row, _ col: String) -> UInt64 { UInt64(bitPattern: row[col] as Int64) }
        func each(_ sql: String, _ body: (Row) -> Event) throws {
            let rows = try Row.fetchCursor(db, sql: sql, arguments: args)
            while let row = try rows.next() { out.append(body(row)) }
        }
        try each("SELECT * FROM calls WHERE run = ? AND seq > ? AND seq <= ?") { r in
            let kind = CallKind(code: r["kind"]) ?? .access
            let prot = Prot(rawValue: r["prot"])
            let call = Call(kind: kind, iova: u(r, "iova"), paddr: u(r, "paddr"), size: u(r, "size"), count: u(r, "count"), prot: prot)
            return Event(seq: u(r, "seq"), call: u(r, "parent"), payload: .callBegin(call))
        }
        try each("SELECT * FROM calls WHERE run = ? AND end_seq > ? AND end_seq <= ?") { r in
            let kind = CallKind(code: r["kind"]) ?? .access
            let ret: Int64 = r["ret"]
            return Event(seq: u(r, "end_seq"), call: u(r, "seq"), payload: .callEnd(kind, CallResult(ret: ret, value: u(r, "value"))))
        }
        try each("SELECT * FROM writes WHERE run = ? AND seq > ? AND seq <= ?") { r in
            let table: Int = r["tbl"], index: Int = r["idx"], level: Int = r["level"]
            return Event(seq: u(r, "seq"), call: u(r, "call"),
                         payload: .write(table: table, index: index, level: level, iova: u(r, "iova"), old: u(r, "old"), new: u(r, "new")))
        }
        try each("SELECT * FROM cleans WHERE run = ? AND seq > ? AND seq <= ?") { r in
            let table: Int = r["tbl"], index: Int = r["idx"], count: Int = r["count"]
            let first: Int = r["first_line"], lines: Int = r["lines"], already: Int = r["already_clean"]
            let reason: CleanReason = CleanReason(rawValue: r["reason"]) ?? .descriptors
            return Event(seq: u(r, "seq"), call: u(r, "call"),
                         payload: .clean(table: table, index: index, count: count, firstLine: first, lines: lines,
                                         alreadyClean: already, reason: reason))
        }
        try each("SELECT * FROM tlb_ops WHERE run = ? AND seq > ? AND seq <= ?") { r in
            let op: Int = r["op"]
            let payload: EventPayload
            switch op {
            case 3: payload = .addPage(iova: u(r, "iova"), granule: u(r, "granule"))
            case 0: payload = .invalidate(kind: .all, iova: u(r, "iova"), size: u(r, "size"), granule: u(r, "granule"))
            case 1: payload = .invalidate(kind: .walk, iova: u(r, "iova"), size: u(r, "size"), granule: u(r, "granule"))
            default: payload = .invalidate(kind: .leaf, iova: u(r, "iova"), size: u(r, "size"), granule: u(r, "granule"))
            }
            return Event(seq: u(r, "seq"), call: u(r, "call"), payload: payload)
        }
        try each("SELECT * FROM table_allocs WHERE run = ? AND seq > ? AND seq <= ?") { r in
            let parent: Int = r["parent"], id: Int = r["tbl"], level: Int = r["level"], parentIndex: Int = r["parent_index"]
            let info = TableInfo(id: id, pa: u(r, "pa"), bytes: u(r, "bytes"), allocBytes: u(r, "alloc_bytes"), level: level,
                                 parent: parent < 0 ? nil : parent, parentIndex: parentIndex, iovaBase: u(r, "iova_base"))
            return Event(seq: u(r, "seq"), call: u(r, "call"), payload: .tableAlloc(info))
        }
        try each("SELECT * FROM table_frees WHERE run = ? AND seq > ? AND seq <= ?") { r in
            let table: Int = r["tbl"]
            return Event(seq: u(r, "seq"), call: u(r, "call"), payload: .tableFree(table: table))
        }
        try each("SELECT * FROM accesses WHERE run = ? AND seq > ? AND seq <= ?") { r in
            let outcome: AccessOutcome = AccessOutcome(rawValue: r["outcome"]) ?? .translated
            let isWrite: Bool = r["is_write"]
            let tlbHit: Bool = r["tlb_hit"]
            let staleRead: Bool = r["stale_read"]
            let staleTLB: Bool = r["stale_tlb"]
            let staleTable: Int = r["stale_tbl"]
            let staleIndex: Int = r["stale_idx"]
            let a = AccessRecord(iova: u(r, "iova"), write: isWrite, outcome: outcome, pa: u(r, "pa"), tlbHit: tlbHit,
                                 staleRead: staleRead, staleTLB: staleTLB, staleTable: staleTable, staleIndex: staleIndex,
                                 staleCPUValue: u(r, "stale_cpu"), staleMemoryValue: u(r, "stale_memory"))
            return Event(seq: u(r, "seq"), call: u(r, "call"), payload: .access(a))
        }
        try each("SELECT * FROM warnings WHERE run = ? AND seq > ? AND seq <= ?") { r in
            let warning: Warning = Warning(rawValue: r["code"]) ?? .badPageSize
            return Event(seq: u(r, "seq"), call: u(r, "call"), payload: .warn(warning))
        }
        out.sort { $0.seq < $1.seq }
        return out
    }
}
