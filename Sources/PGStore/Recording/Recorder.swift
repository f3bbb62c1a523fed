import GRDB
import GRDBSQLite
import PGEngine

/// The sink that writes a run's events into the history file as they happen:
/// one prepared statement per table, bound and stepped with the SQLite C API
/// (GRDB's statement handles), batched into transactions by the caller.
///
/// It lives inside one `HistoryStore.withConnection` closure and is used on
/// that thread only.
public final class Recorder: EventSink {
    public static var isEnabled: Bool { true }

    let db: Database
    let run: Int64
    private let insertCall: Statement
    private let insertSegment: Statement
    private let insertWrite: Statement
    private let insertClean: Statement
    private let insertTLB: Statement
    private let insertAlloc: Statement
    private let insertFree: Statement
    private let insertAccess: Statement
    private let insertWarning: Statement
    private let insertExposure: Statement

    private struct OpenCall { var seq: Int64; var call: Call; var parent: Int64; var depth: Int }
    private var open: [OpenCall] = []

    /// The input line the next top-level call came from (0 when generated).
    public var sourceLine: Int = 0
    public private(set) var events: Int64 = 0
    public private(set) var eventsSinceCommit: Int64 = 0
    public private(set) var topLevelCalls: Int64 = 0
    public private(set) var linesCleaned: Int64 = 0
    public private(set) var staleFindings: Int64 = 0
    /// The first SQLite failure, after which nothing more is written.
    public private(set) var failure: String?

    init(db: Database, run: Int64) throws {
        self.db = db
        self.run = run
        func prepare(_ table: String, _ columns: [String]) throws -> Statement {
            let marks = Array(repeating: "?", count: columns.count).joined(separator: ",")
            return try db.makeStatement(sql: "INSERT INTO \(table) (\(columns.joined(separator: ","))) VALUES (\(marks))")
        }
        insertCall = try prepare("calls", ["run", "seq", "end_seq", "parent", "depth", "kind", "iova", "paddr", "size", "count", "prot", "ret", "value", "source_line"])
        insertSegment = try prepare("sg_segments", ["run", "call", "position", "paddr", "length"])
        insertWrite = try prepare("writes", ["run", "seq", "call", "tbl", "idx", "level", "iova", "old", "new"])
        insertClean = try prepare("cleans", ["run", "seq", "call", "tbl", "idx", "count", "first_line", "lines", "already_clean", "reason"])
        insertTLB = try prepare("tlb_ops", ["run", "seq", "call", "op", "iova", "size", "granule"])
        insertAlloc = try prepare("table_allocs", ["run", "seq", "call", "tbl", "pa", "bytes", "alloc_bytes", "level", "parent", "parent_index", "iova_base"])
        insertFree = try prepare("table_frees", ["run", "seq", "call", "tbl"])
        insertAccess = try prepare("accesses", ["run", "seq", "call", "iova", "is_write", "outcome", "pa", "tlb_hit", "stale_read", "stale_tlb", "stale_tbl", "stale_idx", "stale_cpu", "stale_memory"])
        insertWarning = try prepare("warnings", ["run", "seq", "call", "code"])
        insertExposure = try prepare("exposures", ["run", "call", "tbl", "idx", "level", "iova", "cpu", "memory"])
    }

    /// Binds `count` values from `values` (a fixed-size buffer, no allocation) and steps.
    @inline(__always)
    private func step(_ statement: Statement, _ count: Int32, _ values: (Int64, Int64, Int64, Int64, Int64, Int64, Int64,
                                                                       Int64, Int64, Int64, Int64, Int64, Int64, Int64)) {
        guard failure == nil else { return }
        let handle = statement.sqliteStatement
        withUnsafeBytes(of: values) { raw in
            let v = raw.bindMemory(to: Int64.self)
            for i in 0..<Int(count) { sqlite3_bind_int64(handle, Int32(i + 1), v[i]) }
        }
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        if rc != SQLITE_DONE {
            failure = "SQLite error \(rc): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))"
        }
    }

    @inline(__always)
    private func step(_ statement: Statement, _ a: Int64, _ b: Int64, _ c: Int64, _ d: Int64 = 0, _ e: Int64 = 0,
                      _ f: Int64 = 0, _ g: Int64 = 0, _ h: Int64 = 0, _ i: Int64 = 0, _ j: Int64 = 0, _ k: Int64 = 0,
                      _ l: Int64 = 0, _ m: Int64 = 0, _ n: Int64 = 0, count: Int32) {
        step(statement, count, (a, b, c, d, e, f, g, h, i, j, k, l, m, n))
    }

    @inline(__always)
    private func i(_ v: UInt64) -> Int64 { Int64(bitPattern: v) }
    @inline(__always)
    private func i(_ v: Int) -> Int64 { Int64(v) }

    public func record(_ event: Event) {
        events += 1
        eventsSinceCommit += 1
        let seq = Int64(bitPattern: event.seq), call = Int64(bitPattern: event.call)
        switch event.payload {
        case .callBegin(let c):
            open.append(OpenCall(seq: seq, call: c, parent: call, depth: open.count))
            if c.kind == .iommuMapSG {
                for (n, s) in c.segments.enumerated() { step(insertSegment, run, seq, i(n), i(s.paddr), i(s.length), count: 5) }
            }
        case .callEnd(_, let result):
            guard let o = open.popLast() else { return }
            let c = o.call
            step(insertCall, run, o.seq, seq, o.parent, i(o.depth), i(c.kind.code), i(c.iova), i(c.paddr), i(c.size), i(c.count),
                 i(c.prot.rawValue), result.ret, i(result.value), o.depth == 0 ? i(sourceLine) : 0, count: 14)
            if o.depth == 0 { topLevelCalls += 1 }
        case .write(let table, let index, let level, let iova, let old, let new):
            step(insertWrite, run, seq, call, i(table), i(index), i(level), i(iova), i(old), i(new), count: 9)
        case .clean(let table, let index, let count, let firstLine, let lines, let alreadyClean, let reason):
            if reason == .descriptors { linesCleaned += Int64(lines) }
            step(insertClean, run, seq, call, i(table), i(index), i(count), i(firstLine), i(lines), i(alreadyClean), Int64(reason.rawValue), count: 10)
        case .invalidate(let kind, let iova, let size, let granule):
            step(insertTLB, run, seq, call, i(kind.tlbOpCode), i(iova), i(size), i(granule), count: 7)
        case .addPage(let iova, let granule):
            step(insertTLB, run, seq, call, 3, i(iova), i(granule), i(granule), count: 7)
        case .tableAlloc(let t):
            step(insertAlloc, run, seq, call, i(t.id), i(t.pa), i(t.bytes), i(t.allocBytes), i(t.level),
                 i(t.parent ?? -1), i(t.parentIndex), i(t.iovaBase), count: 11)
        case .tableFree(let table):
            step(insertFree, run, seq, call, i(table), count: 4)
        case .access(let a):
            if a.staleRead || a.staleTLB { staleFindings += 1 }
            step(insertAccess, run, seq, call, i(a.iova), a.write ? 1 : 0, Int64(a.outcome.rawValue), i(a.pa), a.tlbHit ? 1 : 0,
                 a.staleRead ? 1 : 0, a.staleTLB ? 1 : 0, i(a.staleTable), i(a.staleIndex), i(a.staleCPUValue), i(a.staleMemoryValue), count: 14)
        case .warn(let w):
            step(insertWarning, run, seq, call, Int64(w.rawValue), count: 4)
        }
    }

    /// Stale descriptors found when a core map returned (the exposure point of call `call`).
    func recordExposures<S>(call: UInt64, entries: [IOPageTable<S>.StaleEntry], engine: IOPageTable<S>) {
        for e in entries {
            let t = engine.tables[e.table]
            let iova = t.iovaBase &+ UInt64(e.index) &* engine.geometry.blockSize(e.level)
            step(insertExposure, run, i(call), i(e.table), i(e.index), i(e.level), i(iova), i(e.cpu), i(e.memory), count: 8)
            staleFindings += 1
        }
    }

    /// Continues the counters of a run that already has events.
    func resume(events: Int64, calls: Int64) {
        self.events = events
        self.topLevelCalls = calls
    }

    /// Ends the current batch: the run's progress counters and the events go to disk together.
    func commit() throws {
        try db.execute(sql: "UPDATE runs SET events = ?, calls = ? WHERE id = ?", arguments: [events, topLevelCalls, run])
        try db.execute(sql: "COMMIT")
        eventsSinceCommit = 0
    }

    func begin() throws {
        try db.execute(sql: "BEGIN IMMEDIATE")
    }
}

extension CallKind {
    /// `call_kinds.code`.
    public var code: Int {
        switch self {
        case .allocTables: return 0
        case .mapPages: return 1
        case .unmapPages: return 2
        case .iovaToPhys: return 3
        case .iotlbSyncMap: return 4
        case .freeTables: return 5
        case .iommuMap: return 6
        case .iommuMapSG: return 7
        case .iommuUnmap: return 8
        case .iotlbSync: return 9
        case .access: return 10
        }
    }

    public init?(code: Int) {
        guard let k = CallKind.allCases.first(where: { $0.code == code }) else { return nil }
        self = k
    }
}

extension InvalidationKind {
    /// `tlb_op_kinds.code`.
    var tlbOpCode: Int {
        switch self {
        case .all: return 0
        case .walk: return 1
        case .leaf: return 2
        }
    }
}
