/// What a range walk hands out, in address order.
public protocol RangeVisitor {
    /// A maximal run of entries in range at one table that are not table
    /// descriptors (leaves and empty entries), `count` of them from `index`.
    mutating func run(table: Int, level: Int, index: Int, count: Int)
    /// A table descriptor in range; return true to walk the table below it.
    mutating func tableEntry(table: Int, level: Int, index: Int, pte: UInt64) -> Bool
}

extension RangeVisitor {
    public mutating func tableEntry(table: Int, level: Int, index: Int, pte: UInt64) -> Bool { true }
}

/// The one range walker the read-side operations share (generic_pt's
/// `pt_iter` idea): it visits `[iova, iova + size)` of the CPU view top-down and
/// hands out runs of entries rather than one entry at a time, so a caller that
/// cleans can clean each run with one call.
extension IOPageTable {
    public func walk<V: RangeVisitor>(iova: UInt64, size: UInt64, visitor: inout V) {
        guard size > 0, !isFreed, !tables.isEmpty else { return }
        let last = iova &+ (size &- 1)
        guard last >= iova else { return }
        walk(table: root, from: iova, to: last, visitor: &visitor)
    }

    private func walk<V: RangeVisitor>(table id: Int, from first: UInt64, to last: UInt64, visitor: inout V) {
        let info = tables[id]
        let level = info.level
        let shift = UInt64(geometry.shift(level))
        let span = UInt64(info.entries) << shift           // bytes this table translates
        let tableLast = info.iovaBase &+ (span &- 1)
        let lo = max(first, info.iovaBase)
        let hi = min(last, tableLast)
        guard lo <= hi else { return }
        let i0 = Int((lo &- info.iovaBase) >> shift)
        let i1 = Int((hi &- info.iovaBase) >> shift)
        var runStart = i0
        for i in i0...i1 {
            let pte = entry(i, of: id)
            guard DescriptorFormat.isTable(pte, level: level) else { continue }
            if i > runStart { visitor.run(table: id, level: level, index: runStart, count: i - runStart) }
            runStart = i + 1
            if visitor.tableEntry(table: id, level: level, index: i, pte: pte) {
                let sub = child(of: pte)
                if sub >= 0 { walk(table: sub, from: lo, to: hi, visitor: &visitor) }
            }
        }
        if i1 + 1 > runStart { visitor.run(table: id, level: level, index: runStart, count: i1 + 1 - runStart) }
    }
}
