import Foundation
import GRDB
import GRDBSQLite
import PGEngine

/// The sink that writes a run's events into the history file as they happen:
/// each event table's rows gathered into multi-row INSERTs (RowBuffer.swift),
/// bound and stepped with the SQLite C API (GRDB's statement handles),
/// committed in batches wherever they fall, also in the middle of one long
/// call (Recorder+Batches.swift).
///
/// It lives inside one `HistoryStore.withConnection` closure and is used on
/// that thread only.
public final class Recorder: EventSink {
    public static var isEnabled: Bool { true }

    let db: Database
    let run: Int64
    private let insertCall: RowBuffer
    let insertSegment: RowBuffer
    private let insertWrite: RowBuffer
    private let insertClean: RowBuffer
    private let insertTLB: RowBuffer
    private let insertAlloc: RowBuffer
    private let insertFree: RowBuffer
    private let insertAccess: RowBuffer
    private let insertWarning: RowBuffer
    /// Every event table's buffer, flushed before each commit.
    private let buffers: [RowBuffer]
    private let insertExposure: Statement
    private let insertTable: Statement
    /// Index bits a table level resolves: an entry at level l maps 1 << ((4 - l) * bitsPerLevel + 3) bytes.
    private let bitsPerLevel: Int
    let insertUnfinished: Statement
    let deleteUnfinished: Statement
    let insertGap: Statement
    let updateRun: Statement
    let updateSegment: Statement

    struct OpenCall {
        var seq: Int64; var call: Call; var parent: Int64; var depth: Int
        /// Listed in `unfinished_calls` (a batch committed while it was open).
        var listed = false
    }
    var open: [OpenCall] = []
    /// The list of the open map_sg, written as the call consumes it.
    struct PendingList {
        var call: Int64
        var segments: [Segment]
        /// The next entry to write, and the IOVA it maps at.
        var next = 0
        var iova: UInt64
    }
    var pendingList: PendingList?

    /// The segment being recorded (its committed end moves with each batch).
    let segment: Int64
    /// The run's totals (RunTotals.swift), written with each batch.
    var totals: RunTotals
    let totalsStatements: RunTotals.Statements

    // Batching (Recorder+Batches.swift).
    var batchSize: Int64 = 50_000
    var commitInterval: UInt64 = 1_000_000_000
    var lastCommit = DispatchTime.now().uptimeNanoseconds
    var countdown = Recorder.pollEvery
    /// Asked every ``pollEvery`` events and after every step: why to stop, if at all.
    var stopRequest: () -> String? = { nil }
    /// Called once a stop has been committed inside a call (it may end the process).
    var onStopInsideCall: (String) -> Void = { _ in }
    /// Told at each safe point inside a core call (the recording's mid-call checkpoints).
    var onSafePoint: (() -> Void)?
    /// Why the recording stopped; from then on no event is written.
    var stopped: String?
    var onProgress: (RecordingProgress) -> Void = { _ in }
    var lastProgress = DispatchTime.now().uptimeNanoseconds
    /// Work of the steps before the current one, and of the current one (``RunRecording/work(of:granule:)``).
    var workBefore: Int64 = 0
    var currentWork: Int64 = 0
    /// The current top-level call's first IOVA and bytes, and the furthest IOVA it has written.
    var callStart: UInt64 = 0
    var callBytes: UInt64 = 0
    var frontier: UInt64 = 0

    /// The input line the next top-level call came from (0 when generated).
    public var sourceLine: Int = 0
    public internal(set) var events: Int64 = 0
    /// Rows written since the last commit (events, and a map_sg's list entries).
    public internal(set) var eventsSinceCommit: Int64 = 0
    public private(set) var topLevelCalls: Int64 = 0
    public private(set) var linesCleaned: Int64 = 0
    public private(set) var staleFindings: Int64 = 0
    /// Lost-events markers recorded (`trace_gaps`).
    public internal(set) var gaps: Int64 = 0
    /// The first SQLite failure, after which nothing more is written.
    public internal(set) var failure: String?

    init(db: Database, run: Int64, segment: Int64, granule: Granule) throws {
        self.db = db
        bitsPerLevel = granule.shift - 3
        self.run = run
        self.segment = segment
        totals = try RunTotals.load(run: run, db: db)
        totalsStatements = try RunTotals.Statements(db: db)
        func prepare(_ table: String, _ columns: [String]) throws -> Statement {
            let marks = Array(repeating: "?", count: columns.count).joined(separator: ",")
            return try db.makeStatement(sql: "INSERT INTO \(table) (\(columns.joined(separator: ","))) VALUES (\(marks))")
        }
        func buffer(_ table: String, _ columns: [String]) throws -> RowBuffer {
            try RowBuffer(db: db, table: table, columns: columns)
        }
        insertCall = try buffer("calls", ["id", "end_seq", "parent", "depth", "kind", "iova", "paddr", "size", "count", "prot", "ret", "value", "source_line"])
        insertSegment = try buffer("sg_segments", ["run", "call", "position", "paddr", "length"])
        // A write's level and IOVA follow from its table's record in run_tables (migrations/0012).
        insertWrite = try buffer("write_rows", ["id", "call", "tbl", "idx", "old", "new"])
        insertClean = try buffer("cleans", ["id", "call", "tbl", "idx", "count", "first_line", "lines", "already_clean", "reason"])
        insertTLB = try buffer("tlb_ops", ["id", "call", "op", "iova", "size", "granule"])
        insertAlloc = try buffer("table_allocs", ["id", "call", "tbl", "pa", "bytes", "alloc_bytes", "level", "parent", "parent_index", "iova_base"])
        insertFree = try buffer("table_frees", ["id", "call", "tbl"])
        insertAccess = try buffer("accesses", ["id", "call", "iova", "is_write", "outcome", "pa", "tlb_hit", "stale_read", "stale_tlb", "stale_tbl", "stale_idx", "stale_cpu", "stale_memory"])
        insertWarning = try buffer("warnings", ["id", "call", "code"])
        buffers = [insertCall, insertSegment, insertWrite, insertClean, insertTLB, insertAlloc, insertFree, insertAccess, insertWarning]
        insertTable = try db.makeStatement(sql: "INSERT OR IGNORE INTO run_tables (run, tbl, level, iova_base, shift) VALUES (?, ?, ?, ?, ?)")
        insertExposure = try prepare("exposures", ["run", "call", "tbl", "idx", "level", "iova", "cpu", "memory"])
        insertUnfinished = try prepare("unfinished_calls", ["run", "seq", "parent", "depth", "kind", "iova", "paddr", "size", "count", "prot", "source_line"])
        deleteUnfinished = try db.makeStatement(sql: "DELETE FROM unfinished_calls WHERE run = ? AND seq = ?")
        insertGap = try db.makeStatement(sql: "INSERT INTO trace_gaps (run, seq, source_line, cpu, lost, marker) VALUES (?, ?, ?, ?, ?, ?)")
        updateRun = try db.makeStatement(sql: "UPDATE runs SET events = ?, calls = ? WHERE id = ?")
        updateSegment = try db.makeStatement(sql: "UPDATE run_segments SET end_seq = ?, end_calls = ? WHERE run = ? AND segment = ?")
    }

    /// Binds `count` values from `values` (a fixed-size buffer, no allocation) and steps.
    @inline(__always)
    func step(_ statement: Statement, _ count: Int32, _ values: (Int64, Int64, Int64, Int64, Int64, Int64, Int64,
                                                                       Int64, Int64, Int64, Int64, Int64, Int64, Int64)) {
        guard failure == nil else { return }
        let rc = withUnsafeBytes(of: values) { raw in
            RowBuffer.step(statement, raw.bindMemory(to: Int64.self).baseAddress!, Int(count))
        }
        if let rc { fail(rc) }
    }

    /// Adds one row to an event table's buffer.
    @inline(__always)
    func add(_ buffer: RowBuffer, _ a: Int64, _ b: Int64, _ c: Int64, _ d: Int64 = 0, _ e: Int64 = 0,
             _ f: Int64 = 0, _ g: Int64 = 0, _ h: Int64 = 0, _ i: Int64 = 0, _ j: Int64 = 0, _ k: Int64 = 0,
             _ l: Int64 = 0, _ m: Int64 = 0) {
        guard failure == nil else { return }
        let row = (a, b, c, d, e, f, g, h, i, j, k, l, m)
        let rc = withUnsafeBytes(of: row) { buffer.append($0) }
        if let rc { fail(rc) }
    }

    /// Writes every buffered row (before a commit).
    func flushRows() {
        for b in buffers {
            if let rc = b.flush(), failure == nil { fail(rc) }
        }
    }

    private func fail(_ rc: Int32) {
        failure = failure ?? "SQLite error \(rc): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))"
    }

    @inline(__always)
    func step(_ statement: Statement, _ a: Int64, _ b: Int64, _ c: Int64, _ d: Int64 = 0, _ e: Int64 = 0,
                      _ f: Int64 = 0, _ g: Int64 = 0, _ h: Int64 = 0, _ i: Int64 = 0, _ j: Int64 = 0, _ k: Int64 = 0,
                      _ l: Int64 = 0, _ m: Int64 = 0, _ n: Int64 = 0, count: Int32) {
        step(statement, count, (a, b, c, d, e, f, g, h, i, j, k, l, m, n))
    }

    /// The event tables' key of event `seq` of this run.
    @inline(__always)
    private func key(_ seq: Int64) -> Int64 { EventKey.id(run: run, seq: seq) }
    @inline(__always)
    private func i(_ v: UInt64) -> Int64 { Int64(bitPattern: v) }
    @inline(__always)
    private func i(_ v: Int) -> Int64 { Int64(v) }

    public func record(_ event: Event) {
        guard stopped == nil else { return }
        events += 1
        eventsSinceCommit += 1
        let seq = Int64(bitPattern: event.seq), call = Int64(bitPattern: event.call)
        if seq > EventKey.maxSeq {
            failure = failure ?? "run \(run) reached \(EventKey.maxSeq) events, the most one run can hold"
        }
        switch event.payload {
        case .callBegin(let c):
            open.append(OpenCall(seq: seq, call: c, parent: call, depth: open.count))
            if open.count == 1 {
                callStart = c.iova
                callBytes = c.bytesCovered
                frontier = c.iova
            }
            if c.kind == .iommuMapSG {
                // The list goes to sg_segments as the call consumes it: with
                // each batch, the entries up to the IOVA its writes reached,
                // and the rest when it returns (Recorder+Batches.swift). A
                // list of millions of pages then costs no wait before the
                // call's first events are committed.
                pendingList = PendingList(call: seq, segments: c.segments, iova: c.iova)
            }
        case .callEnd(_, let result):
            guard let o = open.popLast() else { return }
            let c = o.call
            if o.listed { step(deleteUnfinished, run, o.seq, 0, count: 2) }
            if pendingList?.call == o.seq { writeList(through: .max) }
            add(insertCall, key(o.seq), seq, o.parent, i(o.depth), i(c.kind.code), i(c.iova), i(c.paddr), i(c.size), i(c.count),
                 i(c.prot.rawValue), result.ret, i(result.value), o.depth == 0 ? i(sourceLine) : 0)
            if o.depth == 0 {
                topLevelCalls += 1
                if result.ret == 0 && (c.kind == .mapPages || c.kind == .iommuMap || c.kind == .iommuMapSG) {
                    totals.mappedBytes &+= i(result.value)
                }
            }
        case .write(let table, let index, _, let iova, let old, let new):
            if iova > frontier { frontier = iova }
            totals.descriptorWrites += 1
            add(insertWrite, key(seq), call, i(table), i(index), i(old), i(new))
        case .clean(let table, let index, let count, let firstLine, let lines, let alreadyClean, let reason):
            if reason == .descriptors {
                linesCleaned += Int64(lines)
                totals.cleanCalls += 1
                totals.linesCleaned += Int64(lines)
                for l in firstLine..<(firstLine + lines) {
                    totals.lineCleans[RunTotals.Line(table: i(table), line: i(l)), default: 0] += 1
                }
            }
            add(insertClean, key(seq), call, i(table), i(index), i(count), i(firstLine), i(lines), i(alreadyClean), Int64(reason.rawValue))
        case .invalidate(let kind, let iova, let size, let granule):
            switch kind {
            case .all: totals.flushAll += 1
            case .walk: totals.flushWalk += 1
            case .leaf: totals.invRange += 1
            }
            add(insertTLB, key(seq), call, i(kind.tlbOpCode), i(iova), i(size), i(granule))
        case .addPage(let iova, let granule):
            totals.addPage += 1
            add(insertTLB, key(seq), call, 3, i(iova), i(granule), i(granule))
        case .tableAlloc(let t):
            recordTable(t)
            add(insertAlloc, key(seq), call, i(t.id), i(t.pa), i(t.bytes), i(t.allocBytes), i(t.level),
                 i(t.parent ?? -1), i(t.parentIndex), i(t.iovaBase))
        case .tableFree(let table):
            totals.freedSinceCommit.append(i(table))
            add(insertFree, key(seq), call, i(table))
        case .access(let a):
            if a.staleRead || a.staleTLB { staleFindings += 1 }
            if a.staleRead { totals.staleReads += 1 }
            if a.staleTLB { totals.staleTLBHits += 1 }
            add(insertAccess, key(seq), call, i(a.iova), a.write ? 1 : 0, Int64(a.outcome.rawValue), i(a.pa), a.tlbHit ? 1 : 0,
                 a.staleRead ? 1 : 0, a.staleTLB ? 1 : 0, i(a.staleTable), i(a.staleIndex), i(a.staleCPUValue), i(a.staleMemoryValue))
        case .warn(let w):
            add(insertWarning, key(seq), call, Int64(w.rawValue))
        }
        if eventsSinceCommit >= batchSize { commitInsideCall() }
        countdown -= 1
        if countdown == 0 {
            countdown = Recorder.pollEvery
            poll()
        }
    }

    public func safePoint() {
        guard stopped == nil, failure == nil, let onSafePoint else { return }
        onSafePoint()
    }

    /// The calls in progress, outermost first, as a checkpoint lists them.
    var openCalls: [EngineState.OpenCall] {
        open.map { EngineState.OpenCall(seq: UInt64($0.seq), kind: $0.call.kind) }
    }

    /// Stale descriptors found when a core map returned (the exposure point of call `call`).
    func recordExposures<S>(call: UInt64, entries: [IOPageTable<S>.StaleEntry], engine: IOPageTable<S>) {
        for e in entries {
            let t = engine.tables[e.table]
            let iova = t.iovaBase &+ UInt64(e.index) &* engine.geometry.blockSize(e.level)
            step(insertExposure, run, i(call), i(e.table), i(e.index), i(e.level), i(iova), i(e.cpu), i(e.memory), count: 8)
            staleFindings += 1
            totals.staleDescriptors += 1
        }
    }

    /// Lists a table in `run_tables`, where the `writes` view finds each
    /// write's level and IOVA: at its allocation, and for the tables a run
    /// starts with (a restored or continued state). Listing one twice keeps the first.
    func recordTable(_ t: TableInfo) {
        guard !t.freed else { return }
        step(insertTable, run, i(t.id), i(t.level), i(t.iovaBase), i((Geometry.maxLevels - t.level) * bitsPerLevel + 3), count: 5)
    }

    /// Continues the counters of a run that already has events.
    func resume(events: Int64, calls: Int64) {
        self.events = events
        self.topLevelCalls = calls
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
