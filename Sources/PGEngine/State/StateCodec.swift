/// A compact binary form of ``EngineState`` for checkpoints: varints, and
/// table memory as sparse lists (non-zero CPU words, memory words that differ
/// from the CPU's, non-zero dirty-line words), so a checkpoint costs about the
/// size of the live descriptors.
///
/// Version 3 writes each table record as its differences from what the
/// records before it predict (TableRecords.swift): a run that allocates and
/// frees tables keeps every record, and at 136M events of churn the version-1
/// records were 95% of a whole state; freed tables, whose records nothing
/// reads once they are freed, come back as tombstones
/// (``EngineState/forgettingFreedTables``). It writes each descriptor as its
/// difference from the one before (``Writer/descriptors(_:skip:)``).
/// Version 5 starts each run of descriptors afresh, so a decode of a few
/// tables steps over the others (DescriptorRuns.swift, WordSelection.swift).
/// Versions 1 and 3 are still read.
public enum StateCodec {
    static let magic: UInt32 = 0x7067_6370   // 'pgcp'
    static let version: UInt8 = 5
    /// Whole states written before version 5: as version 5, but each run of
    /// descriptors predicted from the last word of the run before it
    /// (DescriptorRuns.swift), so a run could not be read without all
    /// those before it.
    static let chainedVersion: UInt8 = 3
    /// Whole states written before version 3: each table record field by field.
    static let legacyVersion: UInt8 = 1

    /// Whether the descriptor runs of a blob of `format` are each read alone,
    /// and its table memory comes last, after everything else (the
    /// formats from 5 on: see ``tableMemoryOffset(of:)``).
    static func independentRuns(_ format: UInt8) -> Bool { format == version || format == deltaVersion }

    /// Where a blob's table memory starts, from its first
    /// ``tableMemoryHeaderBytes`` bytes, for the formats that put it last:
    /// the bytes before it hold all the rest (tables, allocator, dirty
    /// lines, TLB, open calls), so a reader that needs no table memory reads
    /// only those (``decode(_:selecting:into:)`` with ``WordSelection/none``).
    /// Nil for the earlier formats, whose table memory sits in the middle.
    public static func tableMemoryOffset(of head: UnsafeRawBufferPointer) -> Int? {
        guard head.count >= tableMemoryHeaderBytes, independentRuns(head[4]) else { return nil }
        var offset = 0
        for i in 0..<4 { offset |= Int(head[5 + i]) << (8 * i) }
        return offset
    }

    /// The magic, the format byte and the table memory's offset.
    public static let tableMemoryHeaderBytes = 9

    public struct DecodeError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func encode(_ s: EngineState) -> [UInt8] {
        encode(s, extent: StateExtent(of: s))
    }

    /// The same bytes for a state whose arrays may run past its `extent` (a
    /// shared state, ``IOPageTable/sharedState(openCalls:)``): a whole-state
    /// checkpoint is encoded from the engine's arrays without copying them.
    /// `stale`: the stale descriptors of every page that has any
    /// (``IOPageTable/staleWords(inPages:)``), kept for partial readers
    /// (StalePages.swift); nil: not kept.
    public static func encode(_ s: EngineState, extent: StateExtent, stale: [(page: Int, count: Int)]? = nil) -> [UInt8] {
        encode(s, extent: extent, format: version, stale: stale)
    }

    /// The same in `format`: ``version``, or ``chainedVersion`` (which tests
    /// write to check it still reads).
    static func encode(_ s: EngineState, extent: StateExtent, format: UInt8, stale: [(page: Int, count: Int)]? = nil) -> [UInt8] {
        var w = Writer()
        w.u32(magic)
        w.byte(format)
        if independentRuns(format) {
            // Everything but table memory, then table memory at the offset the header gives.
            w.u32(0)
            w.varint(s.seq)
            writeTableRecords(s.tables, &w)
            writeAllocator(s, &w)
            w.varint(UInt64(extent.words))
            w.byte(extent.memory ? 1 : 0)
            if extent.memory {
                w.varint(UInt64(extent.dirtyWords))
                w.sparse(s.dirty, count: extent.dirtyWords, skip: { _, v in v == 0 })
                writeStalePages(stale?.filter { $0.count > 0 }, &w)
            }
            writeTail(s, &w)
            w.patchTableMemoryOffset()
            w.descriptors(s.cpu, count: extent.words, skip: { _, v in v == 0 })
            if extent.memory { w.sparse(s.memory, count: extent.words, skip: { i, v in v == s.cpu[i] }) }
            return w.bytes
        }
        w.varint(s.seq)
        writeTableRecords(s.tables, &w)
        writeAllocator(s, &w)
        w.varint(UInt64(extent.words))
        w.descriptors(s.cpu, count: extent.words, independentRuns: false, skip: { _, v in v == 0 })
        w.byte(extent.memory ? 1 : 0)
        if extent.memory {
            w.sparse(s.memory, count: extent.words, skip: { i, v in v == s.cpu[i] })
            w.varint(UInt64(extent.dirtyWords))
            w.sparse(s.dirty, count: extent.dirtyWords, skip: { _, v in v == 0 })
        }
        writeTail(s, &w)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> EngineState {
        var s = EngineState.empty
        try decode(bytes, selecting: .all, into: &s)
        return s
    }

    /// Decodes a whole state into `s`, writing only the words of table memory
    /// that `selection` holds. With ``WordSelection/all`` `s` becomes the
    /// state. With any other selection `s`'s `cpu` and `memory` arrays are
    /// kept, and must each be at least as long as the state's table memory
    /// when anything is selected (empty is enough for ``WordSelection/none``):
    /// only the selected words are written, the rest left as they were;
    /// everything else (tables, allocator, dirty lines, TLB) is decoded whole.
    /// Returns the state's words of table memory.
    @discardableResult
    public static func decode(_ bytes: [UInt8], selecting selection: WordSelection, into s: inout EngineState) throws(DecodeError) -> Int {
        try reading(bytes) { raw throws(DecodeError) in try decode(raw, selecting: selection, into: &s) }
    }

    /// The same from bytes the caller holds (a blob in SQLite's buffer,
    /// read without a copy).
    @discardableResult
    public static func decode(_ bytes: UnsafeRawBufferPointer, selecting selection: WordSelection, into s: inout EngineState) throws(DecodeError) -> Int {
        var stale = StalePages()
        return try decode(bytes, selecting: selection, into: &s, stale: &stale)
    }

    /// The same, reading the stale descriptors by page the checkpoint kept
    /// into `stale` (unknown when it kept none).
    @discardableResult
    public static func decode(_ bytes: UnsafeRawBufferPointer, selecting selection: WordSelection, into s: inout EngineState,
                              stale: inout StalePages) throws(DecodeError) -> Int {
        var r = Reader(bytes: bytes)
        guard try r.u32() == magic else { throw DecodeError(description: "not a pgstore checkpoint") }
        let format = try r.byte()
        guard format == version || format == chainedVersion || format == legacyVersion else {
            throw DecodeError(description: "not a pgstore checkpoint")
        }
        if format == version { return try decodeSplit(&r, selecting: selection, into: &s, stale: &stale) }
        stale = StalePages()
        stale.known = false
        s.seq = try r.varint()
        if format != legacyVersion {
            s.tables = try readTableRecords(&r)
        } else {
            let tableCount = try r.count()
            s.tables = []
            s.tables.reserveCapacity(tableCount)
            for id in 0..<tableCount { s.tables.append(try readTable(id: id, &r)) }
        }
        try readAllocator(&r, into: &s)
        let words = try r.count()
        if selection.isAll {
            s.cpu = [UInt64](zeroedTableMemory: words)
        } else {
            try checkRoom(s.cpu, words, selection)
        }
        if format != legacyVersion {
            try r.applyDescriptors(to: &s.cpu, words: words, selecting: selection, independentRuns: false)
        } else {
            try r.applySparse(to: &s.cpu, words: words, selecting: selection)
        }
        let hasMemory = try r.byte() == 1
        if hasMemory {
            try memoryFromCPU(&r, words: words, selecting: selection, into: &s)
        }
        try readDirtyLines(&r, present: hasMemory, fresh: true, into: &s)
        try readTail(&r, into: &s)
        return words
    }

    /// A whole state's memory view: its CPU words (the selected ones), then
    /// the sparse list of the words that differ.
    private static func memoryFromCPU(_ r: inout Reader, words: Int, selecting selection: WordSelection,
                                      into s: inout EngineState) throws(DecodeError) {
        if selection.isAll {
            s.memory = [UInt64](tableMemory: s.cpu, count: s.cpu.count, capacity: s.cpu.count)
        } else {
            try checkRoom(s.memory, words, selection)
            for run in selection.intersection(with: 0..<words) {
                s.memory.replaceSubrange(run, with: s.cpu[run])
            }
        }
        try r.applySparse(to: &s.memory, words: words, selecting: selection)
    }

    /// The dirty-line bits (a sparse list over their count) when the state
    /// has a memory view, `fresh` (a whole state) from zero, else over the
    /// base's; without one, no memory view and no dirty bits.
    static func readDirtyLines(_ r: inout Reader, present: Bool, fresh: Bool, into s: inout EngineState) throws(DecodeError) {
        guard present else {
            s.memory = []
            s.dirty = []
            return
        }
        let count = try r.count()
        if fresh { s.dirty = [UInt64](repeating: 0, count: count) } else { s.dirty.resize(to: count) }
        try r.applySparse(to: &s.dirty)
    }

    /// `body` over the bytes of `bytes`, its typed error kept (the standard
    /// library's `withUnsafeBytes` rethrows untyped).
    static func reading<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(DecodeError) -> R) throws(DecodeError) -> R {
        var result: Result<R, DecodeError>?
        bytes.withUnsafeBytes { raw in
            do throws(DecodeError) { result = .success(try body(raw)) } catch { result = .failure(error) }
        }
        guard let result else { throw DecodeError(description: "checkpoint unreadable") }
        return try result.get()
    }

    /// A whole state of ``version``: all but table memory, then table memory
    /// unless nothing is selected (the bytes may then end where it starts).
    private static func decodeSplit(_ r: inout Reader, selecting selection: WordSelection, into s: inout EngineState,
                                    stale: inout StalePages) throws(DecodeError) -> Int {
        let offset = try r.tableMemoryOffset()
        s.seq = try r.varint()
        s.tables = try readTableRecords(&r)
        try readAllocator(&r, into: &s)
        let (words, hasMemory) = try readBeforeTableMemory(&r, whole: true, into: &s, stale: &stale)
        if selection.ranges?.isEmpty == true { return words }
        try r.seek(to: offset)
        if selection.isAll {
            s.cpu = [UInt64](zeroedTableMemory: words)
        } else {
            try checkRoom(s.cpu, words, selection)
        }
        try r.applyDescriptors(to: &s.cpu, words: words, selecting: selection, independentRuns: true)
        if hasMemory { try memoryFromCPU(&r, words: words, selecting: selection, into: &s) }
        return words
    }

    /// What formats 5 and 6 keep after the allocator and before table memory:
    /// its words, whether there is a memory view, the dirty lines, the stale
    /// descriptors by page (``StalePages``) and the tail. `whole`: a whole
    /// state's (dirty lines and stale pages from nothing), else a delta's.
    static func readBeforeTableMemory(_ r: inout Reader, whole: Bool, into s: inout EngineState,
                                      stale: inout StalePages) throws(DecodeError) -> (words: Int, hasMemory: Bool) {
        let words = try r.count()
        let hasMemory = try r.byte() == 1
        try readDirtyLines(&r, present: hasMemory, fresh: whole, into: &s)
        if hasMemory { try readStalePages(&r, whole: whole, words: words, into: &stale) } else { stale = StalePages() }
        try readTail(&r, into: &s)
        return (words, hasMemory)
    }

    /// A view of a delta's table memory made `count` words long, or, under a
    /// selection other than ``WordSelection/all``, checked to hold them.
    static func fit(_ words: inout [UInt64], _ count: Int, _ selection: WordSelection) throws(DecodeError) {
        if selection.isAll { words.resize(to: count) } else { try checkRoom(words, count, selection) }
    }

    /// A selective decode writes into arrays the caller sized for the chain.
    static func checkRoom(_ words: [UInt64], _ count: Int, _ selection: WordSelection) throws(DecodeError) {
        guard selection.ranges?.isEmpty == true || words.count >= count else {
            throw DecodeError(description: "a checkpoint with more table memory (\(count) words) than its chain's last state (\(words.count))")
        }
    }

    /// What memory holds of a CPU word once its line is cleaned: the word
    /// itself, but a table descriptor without its SW_SYNC bit, which the CPU
    /// sets after the clean (`arm_lpae_install_table`) and a later clean of the
    /// line alone carries to memory.
    @inline(__always) static func cleaned(_ cpu: UInt64) -> UInt64 { cpu & ~DescriptorBits.swSync }

    // MARK: Parts both forms share (whole states and deltas, StateDelta.swift)

    static func writeTable(_ t: TableInfo, _ w: inout Writer) {
        w.varint(t.pa); w.varint(t.bytes); w.varint(t.allocBytes); w.varint(UInt64(t.level))
        w.varint(UInt64(bitPattern: Int64(t.parent ?? -1))); w.varint(UInt64(t.parentIndex)); w.varint(t.iovaBase)
        w.byte(t.freed ? 1 : 0)
    }

    static func readTable(id: Int, _ r: inout Reader) throws(DecodeError) -> TableInfo {
        let pa = try r.varint(), bytes = try r.varint(), alloc = try r.varint(), level = try r.int(below: Geometry.maxLevels)
        let parent = Int(Int64(bitPattern: try r.varint())), parentIndex = try r.int(), iova = try r.varint()
        var t = TableInfo(id: id, pa: pa, bytes: bytes, allocBytes: alloc, level: level,
                          parent: parent < 0 ? nil : parent, parentIndex: parentIndex, iovaBase: iova)
        t.freed = try r.byte() == 1
        return t
    }

    /// The root, whether the tables are freed, and the allocator.
    static func writeAllocator(_ s: EngineState, _ w: inout Writer) {
        w.varint(UInt64(s.root)); w.byte(s.isFreed ? 1 : 0)
        w.varint(s.allocatorNext)
        w.varint(UInt64(s.freeLists.count))
        for (size, list) in s.freeLists.sorted(by: { $0.key < $1.key }) {
            w.varint(size); w.varint(UInt64(list.count))
            for pa in list { w.varint(pa) }
        }
    }

    static func readAllocator(_ r: inout Reader, into s: inout EngineState) throws(DecodeError) {
        s.root = try r.int()
        s.isFreed = try r.byte() == 1
        s.allocatorNext = try r.varint()
        s.freeLists = [:]
        for _ in 0..<(try r.count()) {
            let size = try r.varint()
            var list: [UInt64] = []
            for _ in 0..<(try r.count()) { list.append(try r.varint()) }
            s.freeLists[size] = list
        }
    }

    /// The TLB, the gather, the partial-unmap WARN and the open calls.
    static func writeTail(_ s: EngineState, _ w: inout Writer) {
        w.varint(UInt64(s.tlbLeaves.count))
        for (k, leaf) in s.tlbLeaves.sorted(by: { $0.key < $1.key }) { w.varint(k); w.varint(leaf.pte); w.varint(UInt64(leaf.level)) }
        w.varint(UInt64(s.tlbWalks.count))
        for (k, pa) in s.tlbWalks.sorted(by: { $0.key < $1.key }) { w.varint(k); w.varint(pa) }
        w.varint(s.gather.start); w.varint(s.gather.end); w.varint(s.gather.pgsize); w.byte(s.gather.queued ? 1 : 0)
        w.byte(s.warnedPartialUnmap ? 1 : 0)
        w.varint(UInt64(s.openCalls.count))
        for c in s.openCalls { w.varint(c.seq); w.varint(UInt64(CallKind.allCases.firstIndex(of: c.kind)!)) }
    }

    static func readTail(_ r: inout Reader, into s: inout EngineState) throws(DecodeError) {
        s.tlbLeaves = [:]
        for _ in 0..<(try r.count()) {
            let k = try r.varint()
            s.tlbLeaves[k] = TLB.Leaf(pte: try r.varint(), level: try r.int(below: Geometry.maxLevels))
        }
        s.tlbWalks = [:]
        for _ in 0..<(try r.count()) {
            let k = try r.varint()
            s.tlbWalks[k] = try r.varint()
        }
        s.gather.start = try r.varint(); s.gather.end = try r.varint(); s.gather.pgsize = try r.varint(); s.gather.queued = try r.byte() == 1
        s.warnedPartialUnmap = try r.byte() == 1
        s.openCalls = []
        for _ in 0..<(try r.count()) {
            let seq = try r.varint()
            let k = try r.int()
            guard k < CallKind.allCases.count else { throw DecodeError(description: "bad call kind in checkpoint") }
            s.openCalls.append(.init(seq: seq, kind: CallKind.allCases[k]))
        }
    }

    struct Writer {
        var bytes: [UInt8] = []
        /// Writes the table memory's offset (the bytes so far) into the
        /// header's placeholder (``tableMemoryOffset(of:)``).
        mutating func patchTableMemoryOffset() {
            let offset = UInt32(bytes.count)
            for i in 0..<4 { bytes[5 + i] = UInt8(truncatingIfNeeded: offset >> (8 * UInt32(i))) }
        }
        mutating func byte(_ b: UInt8) { bytes.append(b) }
        mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }
        /// (gap, value) pairs for the words not skipped, then a terminating gap of 0 with no value... as count first.
        mutating func sparse(_ words: [UInt64], skip: (UInt64) -> Bool) {
            sparse(words, skip: { _, v in skip(v) })
        }
        /// Memory words as their differences from a prediction: a word the
        /// CPU wrote since the base (`written`, ascending) is predicted
        /// cleaned (``StateCodec/cleaned(_:)``); any other word unchanged from
        /// the base. Listed are the words that differ from that, each flagged
        /// when it equals the CPU word (then its position alone goes). Under
        /// a strategy that cleans what it writes the list is empty; deferred
        /// leaves list their stale words, and a word cleaned since the base
        /// that the CPU wrote before it costs its position.
        mutating func memoryDifferences(_ memory: [UInt64], base: [UInt64], cpu: [UInt64], written: [Int]) {
            memoryDifferences(memory, base: base, cpu: cpu, written: written, in: [memory.indices])
        }
        /// The same where only the words in `ranges` (ascending) can differ from the base's.
        mutating func memoryDifferences(_ memory: [UInt64], base: [UInt64], cpu: [UInt64], written: [Int], in ranges: [Range<Int>]) {
            var kept: [Int] = []
            var next = 0
            for r in ranges {
                for i in r {
                    let v = memory[i]
                    let predicted: UInt64
                    if next < written.count && written[next] == i {
                        predicted = StateCodec.cleaned(cpu[i])
                        next += 1
                    } else {
                        predicted = i < base.count ? base[i] : 0
                    }
                    if v != predicted { kept.append(i) }
                }
            }
            varint(UInt64(kept.count))
            var last = 0
            for i in kept {
                let v = memory[i], same = i < cpu.count && cpu[i] == v
                varint(UInt64(i - last) << 1 | (same ? 1 : 0))
                if !same { varint(v) }
                last = i
            }
        }
        mutating func sparse(_ words: [UInt64], count: Int? = nil, skip: (Int, UInt64) -> Bool) {
            var kept: [(Int, UInt64)] = []
            for i in 0..<(count ?? words.count) where !skip(i, words[i]) { kept.append((i, words[i])) }
            varint(UInt64(kept.count))
            var last = 0
            for (i, v) in kept {
                varint(UInt64(i - last))
                varint(v)
                last = i
            }
        }
    }

    /// Reads a blob in place: the caller keeps the bytes alive while it reads.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0
        /// The header's table-memory offset, which must lie after the header.
        mutating func tableMemoryOffset() throws(DecodeError) -> Int {
            let offset = Int(try u32())
            guard offset >= StateCodec.tableMemoryHeaderBytes else { throw DecodeError(description: "bad table memory offset in checkpoint") }
            return offset
        }
        /// Moves to `offset`, which must not lie before what was read.
        mutating func seek(to offset: Int) throws(DecodeError) {
            guard offset >= at, offset <= bytes.count else { throw DecodeError(description: "bad table memory offset in checkpoint") }
            at = offset
        }
        mutating func byte() throws(DecodeError) -> UInt8 {
            guard at < bytes.count else { throw DecodeError(description: "checkpoint ends early") }
            defer { at += 1 }
            return bytes[at]
        }
        mutating func u32() throws(DecodeError) -> UInt32 {
            var v: UInt32 = 0
            for i in 0..<4 { v |= UInt32(try byte()) << (8 * UInt32(i)) }
            return v
        }
        mutating func varint() throws(DecodeError) -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                guard shift < 64 else { throw DecodeError(description: "bad varint in checkpoint") }
                v |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
        }
        /// A varint that must be a non-negative Int below `limit`: a level, an
        /// index, a table id. A damaged checkpoint's larger value is an error, not a trap.
        mutating func int(below limit: Int = .max) throws(DecodeError) -> Int {
            let v = try varint()
            guard v < UInt64(limit) else { throw DecodeError(description: "implausible value \(v) in checkpoint") }
            return Int(v)
        }
        mutating func count() throws(DecodeError) -> Int {
            let v = try varint()
            guard v <= UInt64(bytes.count) * 8 + (1 << 24) else { throw DecodeError(description: "implausible count in checkpoint") }
            return Int(v)
        }
        /// Applies a ``Writer/memoryDifferences(_:base:cpu:written:)`` list to
        /// the base's memory, the CPU words at `written` already taken as cleaned.
        mutating func applyMemoryDifferences(to out: inout [UInt64], cpu: [UInt64]) throws(DecodeError) {
            try applyMemoryDifferences(to: &out, cpu: cpu, words: out.count, selecting: .all)
        }

        /// The same for memory of `words` words, writing only the selected ones.
        mutating func applyMemoryDifferences(to out: inout [UInt64], cpu: [UInt64], words: Int,
                                             selecting selection: WordSelection) throws(DecodeError) {
            let n = try self.count()
            var i = 0
            var cursor = WordSelection.Cursor(selection)
            for _ in 0..<n {
                let code = try varint()
                guard code >> 1 < UInt64(words) else { throw DecodeError(description: "sparse index out of range in checkpoint") }
                i += Int(code >> 1)
                guard i < words else { throw DecodeError(description: "sparse index out of range in checkpoint") }
                if code & 1 == 1 {
                    if cursor.contains(i) {
                        guard i < cpu.count else { throw DecodeError(description: "memory word beyond the CPU's in checkpoint") }
                        out[i] = cpu[i]
                    }
                } else {
                    let v = try varint()
                    if cursor.contains(i) { out[i] = v }
                }
            }
        }
        /// Overwrites the words a sparse list names.
        mutating func applySparse(to out: inout [UInt64]) throws(DecodeError) {
            try applySparse(to: &out, words: out.count, selecting: .all)
        }

        /// The same for a list over `words` words, writing only the selected ones.
        mutating func applySparse(to out: inout [UInt64], words: Int, selecting selection: WordSelection) throws(DecodeError) {
            let n = try self.count()
            var i = 0
            var cursor = WordSelection.Cursor(selection)
            for _ in 0..<n {
                let gap = try varint()
                guard gap < UInt64(words) else { throw DecodeError(description: "sparse index out of range in checkpoint") }
                i += Int(gap)
                guard i < words else { throw DecodeError(description: "sparse index out of range in checkpoint") }
                let v = try varint()
                if cursor.contains(i) { out[i] = v }
            }
        }
    }
}
