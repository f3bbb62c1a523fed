/// Incremental checkpoints: a state written as its differences from an earlier
/// one (the previous checkpoint), so a checkpoint costs what changed since,
/// not the whole state. Tables are only ever appended (a table's id is its
/// allocation ordinal) and their records change only when freed; table memory
/// goes as the words that differ from the base; the TLB, the allocator's free
/// lists, the gather and the open calls, which are small, go whole.
///
/// Version 4 writes a record that only became freed as its id alone, new
/// records compactly (TableRecords.swift), and a memory word that now equals
/// the CPU's (a word cleaned since the base) as its position alone: in
/// version 2 those words went twice, once as CPU and once as memory, half of
/// every churn delta; it writes CPU words as descriptors predicted from the
/// one before (``Writer/descriptors(_:skip:)``), and memory as what differs
/// from the CPU's words written since the base, cleaned
/// (``Writer/memoryDifferences(_:base:cpu:written:)``). Version 6 is version
/// 4 with each run of descriptors started afresh (DescriptorRuns.swift).
/// Versions 2 and 4 are still read.
extension StateCodec {
    static let deltaVersion: UInt8 = 6
    /// Deltas written before version 6: as version 6, but with each run of
    /// descriptors predicted from the run before it (``chainedVersion``).
    static let chainedDeltaVersion: UInt8 = 4
    /// Deltas written before version 4.
    static let legacyDeltaVersion: UInt8 = 2

    /// What a checkpoint blob is: a whole state, or a delta on the checkpoint at `base`.
    public enum Kind: Sendable, Equatable {
        case full
        case delta(base: UInt64)
    }

    public static func kind(of bytes: [UInt8]) throws(DecodeError) -> Kind {
        try reading(bytes) { raw throws(DecodeError) in try kind(of: raw) }
    }

    public static func kind(of bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Kind {
        var r = Reader(bytes: bytes)
        guard try r.u32() == magic else { throw DecodeError(description: "not a pgstore checkpoint") }
        switch try r.byte() {
        case version, chainedVersion, legacyVersion: return .full
        case deltaVersion, chainedDeltaVersion, legacyDeltaVersion:
            if bytes[4] == deltaVersion { _ = try r.u32() }
            _ = try r.varint()
            return .delta(base: try r.varint())
        default: throw DecodeError(description: "a checkpoint of an unknown version")
        }
    }

    /// The number of tables (live and freed) of the state a delta describes,
    /// read from its header alone.
    public static func tableCount(ofDelta bytes: [UInt8]) throws(DecodeError) -> Int {
        try reading(bytes) { raw throws(DecodeError) in
            var r = Reader(bytes: raw)
            guard try r.u32() == magic else { throw DecodeError(description: "not a checkpoint delta") }
            let format = try r.byte()
            guard format == deltaVersion || format == chainedDeltaVersion || format == legacyDeltaVersion else {
                throw DecodeError(description: "not a checkpoint delta")
            }
            _ = try r.varint()
            _ = try r.varint()
            return try r.count()
        }
    }

    /// `s` as its differences from `base` (an earlier state of the same run).
    public static func encodeDelta(_ s: EngineState, since base: EngineState) -> [UInt8] {
        let extent = StateExtent(of: s)
        let words = max(extent.words, base.cpu.count)
        return encodeDelta(s, extent: extent, since: base, ranges: [0..<words])
    }

    /// The same for a state whose arrays may run past its `extent` (a shared
    /// state, ``IOPageTable/sharedState(openCalls:)``), where table memory
    /// outside `ranges` (ascending, below `extent.words`:
    /// ``PhysicalMemory/wordRanges(ofPages:below:)``) is known to equal the
    /// base's: a checkpoint then costs the pages changed since the last one,
    /// not the state.
    public static func encodeDelta(_ s: EngineState, extent: StateExtent, since base: EngineState, ranges: [Range<Int>]) -> [UInt8] {
        encodeDelta(s, extent: extent, since: base, ranges: ranges, written: changedWords(s.cpu, since: base.cpu, in: ranges))
    }

    /// The CPU words in `ranges` that differ from the base's (zero past its end), ascending.
    public static func changedWords(_ cpu: [UInt64], since base: [UInt64], in ranges: [Range<Int>]) -> [Int] {
        var written: [Int] = []
        for r in ranges {
            let split = min(max(r.lowerBound, base.count), r.upperBound)
            for i in r.lowerBound..<split where cpu[i] != base[i] { written.append(i) }
            for i in split..<r.upperBound where cpu[i] != 0 { written.append(i) }
        }
        return written
    }

    /// The same, given ``changedWords(_:since:in:)`` of the two states.
    /// `stale`: the new stale-descriptor count of each page in `ranges`
    /// (``IOPageTable/staleWords(inPages:)``, StalePages.swift); nil: not kept.
    public static func encodeDelta(_ s: EngineState, extent: StateExtent, since base: EngineState, ranges: [Range<Int>],
                                   written: [Int], stale: [(page: Int, count: Int)]? = nil) -> [UInt8] {
        encodeDelta(s, extent: extent, since: base, ranges: ranges, written: written, format: deltaVersion, stale: stale)
    }

    /// The same in `format`: ``deltaVersion``, or ``chainedDeltaVersion``
    /// (which tests write to check it still reads).
    static func encodeDelta(_ s: EngineState, extent: StateExtent, since base: EngineState, ranges: [Range<Int>],
                            written: [Int], format: UInt8, stale: [(page: Int, count: Int)]? = nil) -> [UInt8] {
        var w = Writer()
        w.u32(magic)
        w.byte(format)
        // From format 6 table memory comes last, at the offset the header gives.
        let split = independentRuns(format)
        if split { w.u32(0) }
        w.varint(s.seq)
        w.varint(base.seq)
        // Tables: the records that differ from the base's (most only became
        // freed: the id says it), then the new ones.
        let common = min(base.tables.count, s.tables.count)
        let changed = (0..<common).filter { s.tables[$0] != base.tables[$0] }
        w.varint(UInt64(s.tables.count))
        w.varint(UInt64(changed.count))
        var last = 0
        for id in changed {
            var freedBase = base.tables[id]
            freedBase.freed = true
            let onlyFreed = s.tables[id] == freedBase
            w.varint(UInt64(id - last) << 1 | (onlyFreed ? 1 : 0))
            if !onlyFreed { writeCompactTable(s.tables[id], in: s.tables, previous: predictor(below: id, in: s.tables), &w) }
            last = id
        }
        var previous = predictor(below: common, in: s.tables)
        for t in s.tables[common...] {
            writeCompactTable(t, in: s.tables, previous: previous, &w)
            if !t.freed { previous = t }
        }
        writeAllocator(s, &w)
        if split {
            w.varint(UInt64(extent.words))
            w.byte(extent.memory ? 1 : 0)
            if extent.memory {
                w.varint(UInt64(extent.dirtyWords))
                w.sparse(Array(s.dirty.prefix(extent.dirtyWords)), skip: { i, v in i < base.dirty.count ? v == base.dirty[i] : v == 0 })
                writeStalePages(stale, &w)
            }
            writeTail(s, &w)
            w.patchTableMemoryOffset()
            w.descriptors(s.cpu, at: written)
            if extent.memory { w.memoryDifferences(s.memory, base: base.memory, cpu: s.cpu, written: written, in: ranges) }
            return w.bytes
        }
        w.varint(UInt64(extent.words))
        w.descriptors(s.cpu, at: written, independentRuns: false)
        w.byte(extent.memory ? 1 : 0)
        if extent.memory {
            w.varint(UInt64(extent.words))
            w.memoryDifferences(s.memory, base: base.memory, cpu: s.cpu, written: written, in: ranges)
            // Dirty bits are a bit a line: few enough to compare whole.
            w.varint(UInt64(extent.dirtyWords))
            w.sparse(Array(s.dirty.prefix(extent.dirtyWords)), skip: { i, v in i < base.dirty.count ? v == base.dirty[i] : v == 0 })
        }
        writeTail(s, &w)
        return w.bytes
    }

    /// The state a delta describes, given the state of its base checkpoint.
    public static func applyDelta(_ bytes: [UInt8], to base: EngineState) throws(DecodeError) -> EngineState {
        var s = base
        try applyDelta(bytes, into: &s)
        return s
    }

    /// Applies a delta to the state of its base checkpoint in place: a chain of
    /// deltas over a large state then costs the deltas' size, not a copy of
    /// the state each. On a thrown error `s` is left partly changed.
    public static func applyDelta(_ bytes: [UInt8], into s: inout EngineState) throws(DecodeError) {
        try applyDelta(bytes, into: &s, selecting: .all)
    }

    /// The same, writing only the words of table memory that `selection`
    /// holds (``decode(_:selecting:into:)``): with a selection other than
    /// ``WordSelection/all`` the arrays keep their length, which must be at
    /// least the new state's when anything is selected. Returns the new
    /// state's words of table memory.
    @discardableResult
    public static func applyDelta(_ bytes: [UInt8], into s: inout EngineState, selecting selection: WordSelection) throws(DecodeError) -> Int {
        try reading(bytes) { raw throws(DecodeError) in try applyDelta(raw, into: &s, selecting: selection) }
    }

    /// The same from bytes the caller holds (a blob in SQLite's buffer, read without a copy).
    @discardableResult
    public static func applyDelta(_ bytes: UnsafeRawBufferPointer, into s: inout EngineState, selecting selection: WordSelection) throws(DecodeError) -> Int {
        var stale = StalePages()
        return try applyDelta(bytes, into: &s, selecting: selection, stale: &stale)
    }

    /// The same, updating `stale` (the base's stale descriptors by page) with
    /// the delta's (unknown when it kept none).
    @discardableResult
    public static func applyDelta(_ bytes: UnsafeRawBufferPointer, into s: inout EngineState, selecting selection: WordSelection,
                                  stale: inout StalePages) throws(DecodeError) -> Int {
        var r = Reader(bytes: bytes)
        guard try r.u32() == magic else { throw DecodeError(description: "not a checkpoint delta") }
        let format = try r.byte()
        guard format == deltaVersion || format == chainedDeltaVersion || format == legacyDeltaVersion else {
            throw DecodeError(description: "not a checkpoint delta")
        }
        let offset = format == deltaVersion ? try r.tableMemoryOffset() : 0
        let baseSeq = s.seq, baseTables = s.tables.count
        s.seq = try r.varint()
        guard try r.varint() == baseSeq else { throw DecodeError(description: "a checkpoint delta applied to the wrong base") }
        let count = try r.count()
        guard count >= baseTables else { throw DecodeError(description: "a checkpoint delta with fewer tables than its base") }
        var last = 0
        for _ in 0..<(try r.count()) {
            if format == legacyDeltaVersion {
                let id = try r.count()
                guard id < baseTables else { throw DecodeError(description: "a checkpoint delta names table \(id) beyond its base") }
                s.tables[id] = try readTable(id: id, &r)
                continue
            }
            let code = try r.varint()
            let id = last + Int(truncatingIfNeeded: code >> 1)
            guard id >= last, id < baseTables else { throw DecodeError(description: "a checkpoint delta names table \(id) beyond its base") }
            if code & 1 == 1 {
                s.tables[id].freed = true
            } else {
                s.tables[id] = try readCompactTable(id: id, in: s.tables, previous: predictor(below: id, in: s.tables), &r)
            }
            last = id
        }
        var previous = predictor(below: baseTables, in: s.tables)
        for id in baseTables..<count {
            if format != legacyDeltaVersion {
                let t = try readCompactTable(id: id, in: s.tables, previous: previous, &r)
                s.tables.append(t)
                if !t.freed { previous = t }
            } else {
                s.tables.append(try readTable(id: id, &r))
            }
        }
        try readAllocator(&r, into: &s)
        if format == deltaVersion { return try applySplitTableMemory(&r, at: offset, into: &s, selecting: selection, stale: &stale) }
        stale.known = false
        /// A legacy sparse list of a view's differences from the base.
        func differences(_ words: inout [UInt64]) throws(DecodeError) -> Int {
            let n = try r.count()
            try fit(&words, n, selection)
            try r.applySparse(to: &words, words: n, selecting: selection)
            return n
        }
        var written: [Range<Int>] = []
        let words: Int
        if format != legacyDeltaVersion {
            words = try r.count()
            try fit(&s.cpu, words, selection)
            try r.applyDescriptors(to: &s.cpu, words: words, selecting: selection, independentRuns: independentRuns(format), written: &written)
        } else {
            words = try differences(&s.cpu)
        }
        let hasMemory = try r.byte() == 1
        if hasMemory {
            if format != legacyDeltaVersion {
                try applyMemory(&r, words: try r.count(), written: written, selecting: selection, into: &s)
            } else {
                _ = try differences(&s.memory)
            }
        }
        try readDirtyLines(&r, present: hasMemory, fresh: false, into: &s)
        try readTail(&r, into: &s)
        return words
    }

    /// The rest of a delta of ``deltaVersion`` after its tables and allocator:
    /// words, dirty lines and the tail, then the table memory at `offset`
    /// unless nothing is selected (the bytes may then end where it starts).
    private static func applySplitTableMemory(_ r: inout Reader, at offset: Int, into s: inout EngineState,
                                              selecting selection: WordSelection, stale: inout StalePages) throws(DecodeError) -> Int {
        let (words, hasMemory) = try readBeforeTableMemory(&r, whole: false, into: &s, stale: &stale)
        if selection.ranges?.isEmpty == true { return words }
        try r.seek(to: offset)
        try fit(&s.cpu, words, selection)
        var written: [Range<Int>] = []
        try r.applyDescriptors(to: &s.cpu, words: words, selecting: selection, independentRuns: true, written: &written)
        if hasMemory { try applyMemory(&r, words: words, written: written, selecting: selection, into: &s) }
        return words
    }

    /// A delta's memory view of `words` words (formats 4 and 6): the CPU
    /// words it wrote (`written`) taken as cleaned, then the list of what
    /// differs from that corrects them; only the selected words written.
    private static func applyMemory(_ r: inout Reader, words: Int, written: [Range<Int>], selecting selection: WordSelection,
                                    into s: inout EngineState) throws(DecodeError) {
        try fit(&s.memory, words, selection)
        for run in written {
            guard run.upperBound <= words else { throw DecodeError(description: "a CPU word beyond memory in checkpoint delta") }
            for part in selection.intersection(with: run) {
                for i in part { s.memory[i] = cleaned(s.cpu[i]) }
            }
        }
        try r.applyMemoryDifferences(to: &s.memory, cpu: s.cpu, words: words, selecting: selection)
    }
}
