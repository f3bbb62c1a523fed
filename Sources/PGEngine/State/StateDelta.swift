/// Incremental checkpoints: a state written as its differences from an earlier
/// one (the previous checkpoint), so a checkpoint costs what changed since,
/// not the whole state. Tables are only ever appended (a table's id is its
/// allocation ordinal) and their records change only when freed; table memory
/// goes as the words that differ from the base; the TLB, the allocator's free
/// lists, the gather and the open calls, which are small, go whole.
extension StateCodec {
    static let deltaVersion: UInt8 = 2

    /// What a checkpoint blob is: a whole state, or a delta on the checkpoint at `base`.
    public enum Kind: Sendable, Equatable {
        case full
        case delta(base: UInt64)
    }

    public static func kind(of bytes: [UInt8]) throws(DecodeError) -> Kind {
        var r = Reader(bytes: bytes)
        guard try r.u32() == magic else { throw DecodeError(description: "not a pgstore checkpoint") }
        switch try r.byte() {
        case version: return .full
        case deltaVersion:
            _ = try r.varint()
            return .delta(base: try r.varint())
        default: throw DecodeError(description: "a checkpoint of an unknown version")
        }
    }

    /// `s` as its differences from `base` (an earlier state of the same run).
    public static func encodeDelta(_ s: EngineState, since base: EngineState) -> [UInt8] {
        var w = Writer()
        w.u32(magic)
        w.byte(deltaVersion)
        w.varint(s.seq)
        w.varint(base.seq)
        // Tables: the records that differ from the base's, then the new ones.
        let common = min(base.tables.count, s.tables.count)
        let changed = (0..<common).filter { s.tables[$0] != base.tables[$0] }
        w.varint(UInt64(s.tables.count))
        w.varint(UInt64(changed.count))
        for id in changed { w.varint(UInt64(id)); table(s.tables[id], &w) }
        for t in s.tables[common...] { table(t, &w) }
        w.varint(UInt64(s.root)); w.byte(s.isFreed ? 1 : 0)
        w.varint(s.allocatorNext)
        w.varint(UInt64(s.freeLists.count))
        for (size, list) in s.freeLists.sorted(by: { $0.key < $1.key }) {
            w.varint(size); w.varint(UInt64(list.count))
            for pa in list { w.varint(pa) }
        }
        func differences(_ words: [UInt64], _ old: [UInt64]) {
            w.varint(UInt64(words.count))
            w.sparse(words, skip: { i, v in i < old.count ? v == old[i] : v == 0 })
        }
        differences(s.cpu, base.cpu)
        w.byte(s.memory.isEmpty ? 0 : 1)
        if !s.memory.isEmpty {
            differences(s.memory, base.memory)
            differences(s.dirty, base.dirty)
        }
        w.varint(UInt64(s.tlbLeaves.count))
        for (k, leaf) in s.tlbLeaves.sorted(by: { $0.key < $1.key }) { w.varint(k); w.varint(leaf.pte); w.varint(UInt64(leaf.level)) }
        w.varint(UInt64(s.tlbWalks.count))
        for (k, pa) in s.tlbWalks.sorted(by: { $0.key < $1.key }) { w.varint(k); w.varint(pa) }
        w.varint(s.gather.start); w.varint(s.gather.end); w.varint(s.gather.pgsize); w.byte(s.gather.queued ? 1 : 0)
        w.byte(s.warnedPartialUnmap ? 1 : 0)
        w.varint(UInt64(s.openCalls.count))
        for c in s.openCalls { w.varint(c.seq); w.varint(UInt64(CallKind.allCases.firstIndex(of: c.kind)!)) }
        return w.bytes
    }

    /// The state a delta describes, given the state of its base checkpoint.
    public static func applyDelta(_ bytes: [UInt8], to base: EngineState) throws(DecodeError) -> EngineState {
        var r = Reader(bytes: bytes)
        guard try r.u32() == magic, try r.byte() == deltaVersion else { throw DecodeError(description: "not a checkpoint delta") }
        var s = base
        s.seq = try r.varint()
        guard try r.varint() == base.seq else { throw DecodeError(description: "a checkpoint delta applied to the wrong base") }
        let count = try r.count()
        guard count >= base.tables.count else { throw DecodeError(description: "a checkpoint delta with fewer tables than its base") }
        for _ in 0..<(try r.count()) {
            let id = try r.count()
            guard id < base.tables.count else { throw DecodeError(description: "a checkpoint delta names table \(id) beyond its base") }
            s.tables[id] = try table(id: id, &r)
        }
        for id in base.tables.count..<count { s.tables.append(try table(id: id, &r)) }
        s.root = Int(try r.varint())
        s.isFreed = try r.byte() == 1
        s.allocatorNext = try r.varint()
        s.freeLists = [:]
        for _ in 0..<(try r.count()) {
            let size = try r.varint()
            var list: [UInt64] = []
            for _ in 0..<(try r.count()) { list.append(try r.varint()) }
            s.freeLists[size] = list
        }
        func differences(_ words: inout [UInt64]) throws(DecodeError) {
            let n = try r.count()
            if words.count < n { words.append(contentsOf: repeatElement(0, count: n - words.count)) } else { words.removeLast(words.count - n) }
            try r.applySparse(to: &words)
        }
        try differences(&s.cpu)
        if try r.byte() == 1 {
            if s.memory.isEmpty { s.memory = [] }
            try differences(&s.memory)
            try differences(&s.dirty)
        } else {
            s.memory = []
            s.dirty = []
        }
        s.tlbLeaves = [:]
        for _ in 0..<(try r.count()) {
            let k = try r.varint()
            s.tlbLeaves[k] = TLB.Leaf(pte: try r.varint(), level: Int(try r.varint()))
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
            let k = Int(try r.varint())
            guard k < CallKind.allCases.count else { throw DecodeError(description: "bad call kind in checkpoint") }
            s.openCalls.append(.init(seq: seq, kind: CallKind.allCases[k]))
        }
        return s
    }

    private static func table(_ t: TableInfo, _ w: inout Writer) {
        w.varint(t.pa); w.varint(t.bytes); w.varint(t.allocBytes); w.varint(UInt64(t.level))
        w.varint(UInt64(bitPattern: Int64(t.parent ?? -1))); w.varint(UInt64(t.parentIndex)); w.varint(t.iovaBase)
        w.byte(t.freed ? 1 : 0)
    }

    private static func table(id: Int, _ r: inout Reader) throws(DecodeError) -> TableInfo {
        let pa = try r.varint(), bytes = try r.varint(), alloc = try r.varint(), level = Int(try r.varint())
        let parent = Int(Int64(bitPattern: try r.varint())), parentIndex = Int(try r.varint()), iova = try r.varint()
        var t = TableInfo(id: id, pa: pa, bytes: bytes, allocBytes: alloc, level: level,
                          parent: parent < 0 ? nil : parent, parentIndex: parentIndex, iovaBase: iova)
        t.freed = try r.byte() == 1
        return t
    }
}
