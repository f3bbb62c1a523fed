import PGEngine

/// What a reader of a reconstructed point will look at: the tables over some
/// IOVA ranges, some tables whole, and the events it may replay after it.
/// Given one, a reconstruction decodes from its checkpoints only the table
/// memory that can matter (``HistoryStore/reconstruct(_:reading:)``): a
/// point in the middle of a long map_sg holds millions of descriptors, and a
/// windowed dump or a diff reads a few tables of them.
public struct ReadScope: Sendable {
    /// IOVA ranges: every table over them is held whole.
    public var iovaRanges: [ClosedRange<UInt64>]
    /// Entries (table id, index): every table over the IOVAs each maps is held whole.
    public var entries: [(table: Int, index: Int)]
    /// Tables held whole.
    public var tables: Set<Int>
    /// Tables over whose IOVA span every table is held whole (the span a
    /// freed table mapped, which a diff walks on the side it was live).
    public var spans: Set<Int>
    /// The events up to this seq may be replayed on the engine afterwards
    /// (a diff advances it to its later point); nil: none past the point.
    public var replayThrough: Int64?

    public init(iovaRanges: [ClosedRange<UInt64>] = [], entries: [(table: Int, index: Int)] = [], tables: Set<Int> = [],
                spans: Set<Int> = [], replayThrough: Int64? = nil) {
        self.iovaRanges = iovaRanges
        self.entries = entries
        self.tables = tables
        self.spans = spans
        self.replayThrough = replayThrough
    }

    /// The words of table memory a reconstruction must decode so that what
    /// this scope names reads exactly as in the whole state, at the point
    /// and after replaying `events` (those after the checkpoint, through
    /// ``replayThrough``), given the checkpoint's `skeleton` (its state with
    /// no table memory decoded) of `words` words, and a blank `engine` of
    /// the run (for its memory's base, line size and geometry).
    ///
    /// Held whole: the tables the scope names, and every live table over its
    /// IOVAs, the entries' and those of the device accesses replayed (their
    /// walks); every table above the last level (a walk of the tree reads
    /// them to find the live tables: a few hundredths of the state); every
    /// table the events write, clean or free (a write needs the word memory
    /// still holds: what was written before stays visible to the device
    /// until a clean); and the frames of tables they allocate (memory keeps
    /// what a freed table left there until the new one is cleaned). Nothing
    /// replayed touches any other word. Those read 0 in both views, so the
    /// counts of dirty lines (from the dirty bits, decoded whole) and of
    /// stale descriptors need, for the pages left out, the stale
    /// descriptors the checkpoints kept by page (`stale`, StalePages.swift):
    /// returned as `absentStale`, for ``IOPageTable/setAbsentStale(_:)``.
    /// Where the chain did not keep them (formats before 5 and 6), every
    /// line dirty at the checkpoint is held instead.
    func selection<S>(skeleton: EngineState, words: Int, stale: StalePages, events: [Event],
                      engine: IOPageTable<S>) -> (words: WordSelection, absentStale: [Int: Int]) {
        let base = engine.memory.base
        var tables = skeleton.tables
        var ranges: [Range<Int>] = []
        func frame(_ pa: UInt64, bytes: UInt64) {
            guard pa >= base else { return }
            let first = Int(truncatingIfNeeded: (pa &- base) >> 3)
            let last = min(words, first + Int(truncatingIfNeeded: bytes >> 3))
            if first < last { ranges.append(first..<last) }
        }
        func whole(_ id: Int) {
            guard id >= 0, id < tables.count, !tables[id].freed || id >= skeleton.tables.count else { return }
            frame(tables[id].pa, bytes: tables[id].allocBytes)
        }
        var iovas = iovaRanges
        for event in events {
            switch event.payload {
            case .write(let table, _, _, _, _, _): whole(table)
            case .clean(let table, _, _, _, _, _, _): whole(table)
            case .tableFree(let table): whole(table)
            case .tableAlloc(let info):
                frame(info.pa, bytes: info.allocBytes)
                if info.id == tables.count { tables.append(info) }
            case .access(let a): iovas.append(a.iova...a.iova)
            default: break
            }
        }
        for id in self.tables { whole(id) }
        for e in entries where e.table >= 0 && e.table < tables.count && e.index >= 0 {
            let t = tables[e.table]
            let size = engine.geometry.blockSize(t.level)
            if let r = Self.span(t.iovaBase &+ UInt64(e.index) &* size, size) { iovas.append(r) }
        }
        for id in spans where id >= 0 && id < tables.count {
            let t = tables[id]
            if let r = Self.span(t.iovaBase, UInt64(t.entries) &* engine.geometry.blockSize(t.level)) { iovas.append(r) }
        }
        let merged = Self.merge(iovas)
        for t in skeleton.tables where !t.freed {
            let covered = Self.span(t.iovaBase, UInt64(t.entries) &* engine.geometry.blockSize(t.level))
            if t.level < Geometry.maxLevels - 1 || covered.map({ Self.meets(merged, $0.lowerBound, $0.upperBound) }) == true {
                frame(t.pa, bytes: t.allocBytes)
            }
        }
        guard stale.known else {
            // Dirty lines at the checkpoint, for the counts.
            let wordsPerLine = max(1, engine.memory.lineSize / 8)
            for (k, bits) in skeleton.dirty.enumerated() where bits != 0 {
                var b = bits
                while b != 0 {
                    let line = k * 64 + b.trailingZeroBitCount
                    let first = line * wordsPerLine
                    if first < words { ranges.append(first..<min(words, first + wordsPerLine)) }
                    b &= b - 1
                }
            }
            return (WordSelection(ranges), [:])
        }
        // A page with stale descriptors is held whole or left out whole (its
        // count then stands for it); table frames are whole pages already.
        var selection = WordSelection(ranges)
        let perPage = PhysicalMemory.wordsPerPage
        var partial: [Range<Int>] = [], absent: [Int: Int] = [:]
        for (page, count) in stale.counts {
            let r = (page * perPage)..<min(words, (page + 1) * perPage)
            guard !r.isEmpty else { continue }
            let held = selection.intersection(with: r).reduce(0) { $0 + $1.count }
            if held == 0 { absent[page] = count } else if held < r.count { partial.append(r) }
        }
        if !partial.isEmpty { selection = WordSelection(ranges + partial) }
        return (selection, absent)
    }

    /// The `size` bytes from `lo`, cut at 2^64 (a damaged record's span
    /// must not trap); nil when empty.
    static func span(_ lo: UInt64, _ size: UInt64) -> ClosedRange<UInt64>? {
        guard size > 0 else { return nil }
        let (hi, overflow) = lo.addingReportingOverflow(size - 1)
        return lo...(overflow ? .max : hi)
    }

    static func merge(_ ranges: [ClosedRange<UInt64>]) -> [ClosedRange<UInt64>] {
        var out: [ClosedRange<UInt64>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, last.upperBound == .max || r.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// Whether `[lo, hi]` meets any of `merged` (ascending, disjoint).
    static func meets(_ merged: [ClosedRange<UInt64>], _ lo: UInt64, _ hi: UInt64) -> Bool {
        var a = 0, b = merged.count
        while a < b {
            let mid = (a + b) / 2
            if merged[mid].upperBound < lo { a = mid + 1 } else { b = mid }
        }
        return a < merged.count && merged[a].lowerBound <= hi
    }
}
