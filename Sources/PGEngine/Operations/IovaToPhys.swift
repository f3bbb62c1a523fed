/// `iova_to_phys`, on the shared range walker.
extension IOPageTable {
    /// The physical address `iova` translates to in the CPU view, or 0 when unmapped.
    @discardableResult
    public func iovaToPhys(_ iova: UInt64) -> CallResult {
        let call = beginCall(Call(kind: .iovaToPhys, iova: iova))
        let result = CallResult(ret: 0, value: translate(iova)?.pa ?? 0)
        endCall(call, .iovaToPhys, result)
        return result
    }

    /// The leaf that maps `iova` in the CPU view, if any.
    public func translate(_ iova: UInt64) -> (pa: UInt64, pte: UInt64, level: Int, table: Int, index: Int)? {
        var finder = LeafFinder()
        walk(iova: iova, size: 1, visitor: &finder)
        guard finder.table >= 0 else { return nil }
        let pte = entry(finder.index, of: finder.table)
        guard DescriptorFormat.isLeaf(pte, level: finder.level) else { return nil }
        let offset = iova & (geometry.blockSize(finder.level) - 1)
        return (format.outputAddress(pte) | offset, pte, finder.level, finder.table, finder.index)
    }
}

/// Remembers the last run a one-address walk reached: the entry that decides the translation.
struct LeafFinder: RangeVisitor {
    var table = -1
    var level = 0
    var index = 0
    mutating func run(table: Int, level: Int, index: Int, count: Int) {
        self.table = table
        self.level = level
        self.index = index
    }
}
