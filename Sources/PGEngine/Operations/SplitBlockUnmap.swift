/// Linux 6.12's unmap of part of a block (`arm_lpae_split_blk_unmap`), reached
/// from `__arm_lpae_unmap` under ``KernelProfile/v6_12``; mainline refuses it.
extension IOPageTable {
    /// Replaces the block `block` (entry `index` of `table`) by a level-`level`
    /// table mapping the same memory minus the unmapped pieces. When `size` is
    /// this level's block size the pieces are left out of the new table and
    /// queued with `tlb_add_page`; when it is smaller the new table maps the
    /// whole block and the unmap goes on inside it (splitting again).
    /// Returns the bytes unmapped.
    func splitBlockUnmap(gather: inout Gather, gathering: Bool, iova: UInt64, size: UInt64, pgcount: UInt64,
                         block: UInt64, level: Int, table: Int, index: Int) -> UInt64 {
        if level == Geometry.maxLevels {
            warn(.tableAtLastLevel)
            return 0
        }
        let parentLevel = level - 1
        let blockBase = tables[table].iovaBase &+ UInt64(index) &* geometry.blockSize(parentLevel)
        // GFP_ATOMIC allocation failure: nothing unmapped.
        guard let newTable = allocateTable(level: level, parent: table, parentIndex: index, iovaBase: blockBase) else {
            return 0
        }
        let splitSize = geometry.blockSize(level)
        var unmapStart = -1
        var unmapCount = 0
        if size == splitSize {
            unmapStart = geometry.index(of: iova, level: level)
            unmapCount = Int(min(pgcount, UInt64(geometry.maxEntries(from: unmapStart))))
        }
        let attributes = block & DescriptorBits.attributeMask
        let blockPA = format.outputAddress(block)
        for i in 0..<geometry.entriesPerTable where !(i >= unmapStart && i < unmapStart + unmapCount) {
            // __arm_lpae_init_pte, one entry at a time.
            let pte = format.leaf(paddr: blockPA &+ UInt64(i) &* splitSize, attributes: attributes, level: level)
            write(pte, table: newTable, index: i, level: level)
            syncNewLeaves(table: newTable, index: i, count: 1)
        }
        // arm_lpae_install_table over the block: single-threaded, the cmpxchg always wins.
        installTable(newTable, in: table, index: index, level: parentLevel)
        if unmapStart >= 0 {
            for i in 0..<unmapCount {
                tlbAddPage(&gather, iova: iova &+ UInt64(i) &* size, granule: size)
            }
            return UInt64(unmapCount) &* size
        }
        return unmap(gather: &gather, gathering: gathering, iova: iova, size: size, pgcount: pgcount,
                     level: level, table: newTable)
    }
}
