import Foundation
import GRDB
import PGEngine

/// Writing and finding checkpoints. A checkpoint is a whole state, or a
/// delta on the checkpoint before it (StateDelta.swift); the state at a
/// checkpoint is the whole state before it plus the deltas since.
enum Checkpoints {
    static func write(encoded bytes: [UInt8], seq: UInt64, run: Int64, db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO checkpoints (run, seq, bytes, state) VALUES (?, ?, ?, ?)",
                       arguments: [run, Int64(seq), bytes.count, Data(bytes)])
    }

    /// The seq of the latest checkpoint of `run` at or before `seq`.
    static func nearestSeq(run: Int64, atOrBefore seq: Int64, db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT max(seq) FROM checkpoints WHERE run = ? AND seq <= ?", arguments: [run, seq])
    }

    /// The state at the latest checkpoint of `run` at or before `seq`; a
    /// damaged one is an error naming the history file at `path`.
    ///
    /// With `select`, only the table memory it chooses is decoded: the chain
    /// is read once with none (``WordSelection/none``: tables, allocator,
    /// dirty lines and TLB whole), `select` is given that state, its words
    /// of table memory and its stale descriptors by page, and the chain is
    /// decoded again into arrays of the state's size that are written only
    /// where the selection says (the rest zero, and never faulted in).
    /// Without it the state is decoded whole.
    static func nearest(run: Int64, atOrBefore seq: Int64, db: Database, path: String,
                        select: ((_ skeleton: EngineState, _ words: Int, _ stale: StalePages) throws -> WordSelection)? = nil) throws -> EngineState? {
        do {
            guard var blobs = CheckpointBlobs(db, run: run, path: path) else { return nil }
            defer { blobs.close() }
            let chain = try blobs.chain(db, through: seq)
            guard !chain.isEmpty else { return nil }
            // Forward from the whole state, applying each as it is read, in SQLite's buffer.
            // Each blob must be the state its row says: a seq the row does not
            // hold is damage (and one past Int64 would trap where it is used).
            func check(_ state: EngineState, _ rowSeq: Int64) throws {
                guard state.seq == UInt64(bitPattern: rowSeq) else {
                    throw StoreError(.invalid, path: path, "run \(run) has a damaged checkpoint before seq \(seq): "
                                     + "the checkpoint at seq \(rowSeq) holds the state of seq \(state.seq)")
                }
            }
            if let select {
                return try selective(chain, blobs: &blobs, run: run, through: seq, path: path, check: check, select: select)
            }
            var state = EngineState.empty
            for (k, row) in chain.enumerated() {
                try blobs.read(rowid: row.rowid, seq: row.seq) { bytes in
                    if k > 0 {
                        try StateCodec.applyDelta(bytes, into: &state, selecting: .all)
                        return
                    }
                    try StateCodec.decode(bytes, selecting: .all, into: &state)
                    // Memory grows with the tables: room for the newest delta's
                    // tables at the whole state's words per table, and for a
                    // replay after it, saves a copy and a fault of the arrays
                    // at each doubling.
                    if chain.count > 1, !state.tables.isEmpty {
                        let tables = try StateCodec.tableCount(ofDelta: chain[chain.count - 1].head)
                        let words = state.cpu.count / state.tables.count * max(tables, state.tables.count)
                        state.reserveCapacity(words: words + max(words / 8, 1 << 16))
                    }
                }
                try check(state, row.seq)
            }
            return state
        } catch let error as StateCodec.DecodeError {
            throw StoreError(.invalid, path: path, "run \(run) has a damaged checkpoint before seq \(seq): \(error)")
        }
    }

    /// `chain` (CheckpointBlobs.chain) decoded twice: without table memory,
    /// then with what `select` chooses.
    private static func selective(_ chain: [CheckpointBlobs.Row], blobs: inout CheckpointBlobs, run: Int64, through seq: Int64, path: String,
                                  check: (EngineState, Int64) throws -> Void,
                                  select: (EngineState, Int, StalePages) throws -> WordSelection) throws -> EngineState {
        var skeleton = EngineState.empty, words = 0, most = 0
        var stale = StalePages()
        // The first pass reads of each blob only what comes before its table
        // memory (the whole blob in formats before 5 and 6).
        for (k, row) in chain.enumerated() {
            let prefix = row.head.withUnsafeBytes { StateCodec.tableMemoryOffset(of: $0) }
            words = try blobs.read(rowid: row.rowid, seq: row.seq, prefix: prefix) { bytes in
                k == 0 ? try StateCodec.decode(bytes, selecting: .none, into: &skeleton, stale: &stale)
                       : try StateCodec.applyDelta(bytes, into: &skeleton, selecting: .none, stale: &stale)
            }
            try check(skeleton, row.seq)
            most = max(most, words)
        }
        let selection = try select(skeleton, words, stale)
        // Room for the chain's largest state, and for a replay after it to
        // grow in place (as in the whole decode).
        let capacity = most + max(most / 8, 1 << 16)
        var state = EngineState.empty
        // A state with a memory view has a dirty bit for each of its lines.
        state.makeTableMemory(words: most, capacity: capacity, memory: !skeleton.dirty.isEmpty)
        for (k, row) in chain.enumerated() {
            try blobs.read(rowid: row.rowid, seq: row.seq) { bytes in
                _ = k == 0 ? try StateCodec.decode(bytes, selecting: selection, into: &state)
                           : try StateCodec.applyDelta(bytes, into: &state, selecting: selection)
            }
            try check(state, row.seq)
        }
        state.resizeTableMemory(words: words)
        return state
    }

    /// Enough of a blob for its kind and, for a delta, its table count.
    static let headerBytes = 40
}

/// When a recording writes a checkpoint, and which kind.
///
/// Every `every` events (at the next boundary between top-level calls, or
/// the next safe point inside a long core call: ``EventSink/safePoint()``) it
/// writes the state's differences from the previous checkpoint, and the whole
/// state instead once the deltas since the last whole one would add up to
/// more than it: loading any checkpoint then reads at most about twice the
/// state. Checkpoints draw on a budget of `bytesPerEvent` bytes for each event
/// recorded (0: no budget), plus ``growthCredit`` bytes for each descriptor
/// the state holds beyond the most it held at an earlier checkpoint: one that
/// does not fit waits for a later boundary. A history then spends at most
/// that on them, plus the run's first checkpoint, which is written when due
/// and paid back later. The growth credit is what lets a state that grows
/// faster than the budget (one map_sg of millions of pages: 4 events and 8
/// bytes of descriptor per page) be written at all: without it every delta
/// since the last checkpoint outgrew the budget that accrued meanwhile, and a
/// 20M-event call got no checkpoint after its first.
struct CheckpointPolicy {
    /// Bytes credited per descriptor of growth: a raw descriptor's size,
    /// more than one costs in a checkpoint.
    static let growthCredit = 8.0
    let every: UInt64
    let bytesPerEvent: Double
    private var last: UInt64
    /// The state at the last checkpoint written, the base of the next delta;
    /// kept current in place at each checkpoint, from the pages changed since.
    private var base: EngineState?
    /// Its non-zero CPU words.
    private var baseWords = 0
    private var fullBytes = 0
    private var deltaBytesSinceFull = 0
    private var budget = 0.0
    private var budgetSeq: UInt64
    /// After a checkpoint that did not fit the budget: the seq at which it will.
    private var notBefore: UInt64 = 0
    /// The most non-zero CPU words of any checkpoint so far, and their number at the last whole state.
    private var peakWords = 0
    private var wordsAtFull = 0

    /// `initial`: the checkpoint written at the start (a restored or continued state) and its size.
    init(every: UInt64, bytesPerEvent: Double, start: UInt64, initial: (state: EngineState, bytes: Int)?) {
        self.every = max(every, 1)
        self.bytesPerEvent = bytesPerEvent
        last = start
        budgetSeq = start
        if let initial {
            base = initial.state
            fullBytes = initial.bytes
            baseWords = Self.liveWords(initial.state)
            peakWords = baseWords
            wordsAtFull = peakWords
        }
    }

    /// The checkpoint to write now, if one is due: its seq and bytes.
    /// `openCalls`: the calls in progress, for a checkpoint inside one.
    ///
    /// A delta looks only at the pages of table memory the engine changed
    /// since the last checkpoint written (``IOPageTable/touchedPages``), read
    /// from the engine's own arrays, and the base takes those pages in place:
    /// a checkpoint of a state that grows to millions of descriptors (one
    /// long map_sg) costs what changed, not a copy and a scan of the state.
    mutating func due<S>(_ engine: IOPageTable<S>, openCalls: @autoclosure () -> [EngineState.OpenCall] = []) -> (UInt64, [UInt8])? {
        let seq = engine.seq
        guard seq &- last >= every, seq >= notBefore else { return nil }
        if bytesPerEvent > 0 {
            budget += Double(seq &- budgetSeq) * bytesPerEvent
            budgetSeq = seq
        }
        let open = openCalls()
        guard var base else {
            // The run's first checkpoint: a whole state, written when due
            // whatever the budget (which it then owes): without it a history
            // shorter than the state's size in events would have none, and
            // every point would replay from 0.
            let state = engine.captureState(openCalls: open)
            let bytes = StateCodec.encode(state, extent: StateExtent(of: state), stale: engine.staleWords(inPages: Self.allPages(state.cpu.count)))
            if bytesPerEvent > 0 { budget -= Double(bytes.count) }
            baseWords = Self.liveWords(state)
            peakWords = baseWords
            wordsAtFull = baseWords
            fullBytes = bytes.count
            deltaBytesSinceFull = 0
            self.base = state
            engine.clearTouchedPages()
            last = seq
            return (seq, bytes)
        }
        self.base = nil   // held alone below, so its arrays change in place
        defer { self.base = base }
        let pages = engine.touchedPages
        let (shared, extent) = engine.sharedState(openCalls: open)
        let ranges = PhysicalMemory.wordRanges(ofPages: pages, below: extent.words)
        // Only the words that changed can change the count of non-zero ones.
        let written = StateCodec.changedWords(shared.cpu, since: base.cpu, in: ranges)
        var words = baseWords
        for i in written {
            if i < base.cpu.count && base.cpu[i] != 0 { words -= 1 }
            if shared.cpu[i] != 0 { words += 1 }
        }
        if words > peakWords {
            // Credited once: a checkpoint that still does not fit keeps it for later.
            if bytesPerEvent > 0 { budget += Double(words - peakWords) * Self.growthCredit }
            peakWords = words
        }
        var bytes = StateCodec.encodeDelta(shared, extent: extent, since: base, ranges: ranges, written: written,
                                           stale: engine.staleWords(inPages: pages))
        var whole = false
        // What a whole state would cost, judged without writing one: the last
        // one's size and the descriptors added since. A growing state's
        // deltas stay under it, so it is not encoded at every checkpoint
        // only to be thrown away. It is encoded from the engine's arrays, and
        // taken into the base's in place: no copy of the state is made.
        let wholeEstimate = fullBytes + max(0, words - wordsAtFull) * Int(Self.growthCredit)
        if deltaBytesSinceFull + bytes.count > wholeEstimate {
            let full = StateCodec.encode(shared, extent: extent, stale: engine.staleWords(inPages: Self.allPages(extent.words)))
            if full.count <= deltaBytesSinceFull + bytes.count {
                bytes = full
                whole = true
            }
        }
        if bytesPerEvent > 0 && Double(bytes.count) > budget {
            // Not affordable yet: try again once the budget has grown enough
            // (never at every boundary: each try reads the changed pages).
            // The base and the touched pages stay as they were.
            notBefore = seq &+ UInt64(((Double(bytes.count) - budget) / bytesPerEvent).rounded(.up))
            return nil
        }
        if bytesPerEvent > 0 { budget -= Double(bytes.count) }
        if whole {
            base.take([0..<extent.words], of: shared, extent: extent)
            fullBytes = bytes.count
            wordsAtFull = words
            deltaBytesSinceFull = 0
        } else {
            base.take(ranges, of: shared, extent: extent)
            deltaBytesSinceFull += bytes.count
        }
        baseWords = words
        engine.clearTouchedPages()
        last = seq
        return (seq, bytes)
    }

    /// The 4 KiB pages of `words` words of table memory.
    static func allPages(_ words: Int) -> [Int] {
        Array(0..<((words + PhysicalMemory.wordsPerPage - 1) / PhysicalMemory.wordsPerPage))
    }

    /// Non-zero CPU words: the descriptors the state holds.
    static func liveWords(_ s: EngineState) -> Int {
        var n = 0
        for w in s.cpu where w != 0 { n += 1 }
        return n
    }
}
