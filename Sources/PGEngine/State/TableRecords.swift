/// Table records in checkpoints from version 3 on: one header byte, then each
/// field as its difference from what the records before it predict.
///
/// A record's sizes usually repeat the previous record's; its pa is near the
/// previous record's (the allocator hands out pages from one region); its
/// parent is a recent table; its IOVA is its parent's plus a multiple of the
/// parent's block size. Encoded so, a record takes about 8 bytes instead of
/// about 21, which matters because records are never dropped: a freed table
/// keeps its record (the logs name it by path), so a run that allocates and
/// frees tables carries them all in deltas. A whole state writes only the
/// records of tables not freed, and the freed ids as runs
/// (``writeTableRecords(_:_:)``): at 136M events of churn 97,000 records, of
/// which 900 were live, made a whole state 1 MB instead of 50 KB.
extension StateCodec {
    /// A whole state's table records: the count, the lengths of alternating
    /// runs of ids not freed and freed (starting with one not freed, perhaps
    /// empty), then the records of the tables not freed.
    static func writeTableRecords(_ tables: [TableInfo], _ w: inout Writer) {
        w.varint(UInt64(tables.count))
        var runs: [Int] = []
        var freed = false, length = 0
        for t in tables {
            if t.freed != freed {
                runs.append(length)
                freed.toggle()
                length = 0
            }
            length += 1
        }
        runs.append(length)
        w.varint(UInt64(runs.count))
        for n in runs { w.varint(UInt64(n)) }
        var previous: TableInfo?
        for t in tables where !t.freed {
            writeCompactTable(t, in: tables, previous: previous, &w)
            previous = t
        }
    }

    /// Reads ``writeTableRecords(_:_:)``: freed tables come back as tombstones.
    static func readTableRecords(_ r: inout Reader) throws(DecodeError) -> [TableInfo] {
        let count = try r.count()
        var freedIDs: [Bool] = []
        freedIDs.reserveCapacity(count)
        var freed = false
        for _ in 0..<(try r.count()) {
            let n = try r.count()
            guard freedIDs.count + n <= count else { throw DecodeError(description: "table runs longer than the tables in checkpoint") }
            freedIDs.append(contentsOf: repeatElement(freed, count: n))
            freed.toggle()
        }
        guard freedIDs.count == count else { throw DecodeError(description: "table runs shorter than the tables in checkpoint") }
        var tables: [TableInfo] = []
        tables.reserveCapacity(count)
        var previous: TableInfo?
        for id in 0..<count {
            if freedIDs[id] {
                tables.append(.tombstone(id: id))
            } else {
                let t = try readCompactTable(id: id, in: tables, previous: previous, &r)
                guard !t.freed else { throw DecodeError(description: "table \(id) is freed and not in checkpoint") }
                tables.append(t)
                previous = t
            }
        }
        return tables
    }

    private enum Header {
        static let levelMask: UInt8 = 0b11
        static let freed: UInt8 = 1 << 2
        static let hasParent: UInt8 = 1 << 3
        static let sameSizes: UInt8 = 1 << 4
        static let pagePA: UInt8 = 1 << 5
        static let pageIOVA: UInt8 = 1 << 6
        static let iovaFromParent: UInt8 = 1 << 7
    }

    @inline(__always) static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    @inline(__always) static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    /// The latest record before `id` that is not freed: what a record is
    /// predicted from. Freed records are left out because a whole state keeps
    /// them as tombstones (``TableInfo/tombstone(id:)``), so the reader of a
    /// delta on it may hold a tombstone where the writer held the record.
    static func predictor(below id: Int, in tables: [TableInfo]) -> TableInfo? {
        var i = min(id, tables.count) - 1
        while i >= 0 {
            if !tables[i].freed { return tables[i] }
            i -= 1
        }
        return nil
    }

    /// Writes `t`, whose id is its index in `tables`, predicted from `previous`
    /// (``predictor(below:in:)``) and from its parent when that is not freed.
    static func writeCompactTable(_ t: TableInfo, in tables: [TableInfo], previous: TableInfo?, _ w: inout Writer) {
        let parent = t.parent.flatMap { $0 < t.id && !tables[$0].freed ? tables[$0] : nil }
        let paBase = previous?.pa ?? 0
        let iovaBase = parent?.iovaBase ?? 0
        var header = UInt8(t.level) & Header.levelMask
        if t.freed { header |= Header.freed }
        if t.parent != nil { header |= Header.hasParent }
        let sameSizes = previous.map { $0.bytes == t.bytes && $0.allocBytes == t.allocBytes } ?? false
        if sameSizes { header |= Header.sameSizes }
        let pagePA = t.pa & 0xfff == 0 && paBase & 0xfff == 0
        if pagePA { header |= Header.pagePA }
        let iovaDelta = t.iovaBase &- iovaBase
        if iovaDelta & 0xfff == 0 { header |= Header.pageIOVA }
        if parent != nil { header |= Header.iovaFromParent }
        w.byte(header)
        if !sameSizes { w.varint(t.bytes); w.varint(t.allocBytes) }
        w.varint(pagePA ? zigzag(Int64(t.pa >> 12) &- Int64(paBase >> 12)) : zigzag(Int64(bitPattern: t.pa &- paBase)))
        if let p = t.parent {
            w.varint(zigzag(Int64(t.id) - Int64(p)))
            w.varint(UInt64(t.parentIndex))
        }
        let d = Int64(bitPattern: iovaDelta)
        w.varint(header & Header.pageIOVA != 0 ? zigzag(d >> 12) : zigzag(d))
    }

    /// Reads the record of table `id`; `tables` holds the records of ids below
    /// it, and `previous` is ``predictor(below:in:)`` of them.
    static func readCompactTable(id: Int, in tables: [TableInfo], previous: TableInfo?, _ r: inout Reader) throws(DecodeError) -> TableInfo {
        guard id <= tables.count else { throw DecodeError(description: "table \(id) read out of order in checkpoint") }
        let header = try r.byte()
        var bytes: UInt64, allocBytes: UInt64
        if header & Header.sameSizes != 0 {
            guard let previous else { throw DecodeError(description: "table 0 repeats the sizes of no table in checkpoint") }
            bytes = previous.bytes
            allocBytes = previous.allocBytes
        } else {
            bytes = try r.varint()
            allocBytes = try r.varint()
        }
        let paBase = previous?.pa ?? 0
        let paCode = unzigzag(try r.varint())
        let pa = header & Header.pagePA != 0 ? UInt64(bitPattern: (Int64(paBase >> 12) &+ paCode) << 12) : paBase &+ UInt64(bitPattern: paCode)
        var parent: Int?
        var parentIndex = 0
        if header & Header.hasParent != 0 {
            let p = Int64(id) - unzigzag(try r.varint())
            guard p >= 0, p <= Int64(Int32.max) else { throw DecodeError(description: "table \(id) has a bad parent in checkpoint") }
            parent = Int(p)
            parentIndex = try r.int()
        }
        var iovaBase: UInt64 = 0
        if header & Header.iovaFromParent != 0 {
            guard let p = parent, p < id, !tables[p].freed else {
                throw DecodeError(description: "table \(id) predicts its IOVA from no earlier parent in checkpoint")
            }
            iovaBase = tables[p].iovaBase
        }
        let d = unzigzag(try r.varint())
        let iova = iovaBase &+ UInt64(bitPattern: header & Header.pageIOVA != 0 ? d << 12 : d)
        var t = TableInfo(id: id, pa: pa, bytes: bytes, allocBytes: allocBytes, level: Int(header & Header.levelMask),
                          parent: parent, parentIndex: parentIndex, iovaBase: iova)
        t.freed = header & Header.freed != 0
        return t
    }
}
