/// `unmap_pages`, as `arm_lpae_unmap_pages` and `__arm_lpae_unmap` do it.
extension IOPageTable {
    /// The value mainline returns through `size_t` when the first entry an unmap
    /// looks up is empty: `-ENOENT`. (Linux 6.12 returns 0: ``KernelProfile``.)
    public static var unmapOfEmptyEntry: UInt64 { UInt64(bitPattern: -Errno.ENOENT) }

    /// Unmaps up to `pgcount` pages of `pgsize` at `iova`, adding each cleared
    /// leaf to the engine's gather (applied by ``iotlbSync()``). Returns the bytes
    /// unmapped in `value`, with the kernel's quirks: 0 for a partial block, and
    /// `-ENOENT` through `size_t` for an entry that is not mapped (under the 6.12
    /// profile: the block split, and 0).
    @discardableResult
    public func unmapPages(iova: UInt64, pgsize: UInt64, pgcount: UInt64) -> CallResult {
        var g = gather
        let result = unmapPages(iova: iova, pgsize: pgsize, pgcount: pgcount, gather: &g, gathering: true)
        gather = g
        return result
    }

    /// `unmap_pages` with the caller's gather, or with none (`gathering: false`,
    /// a NULL gather: no `tlb_add_page` at all, as the kernel's selftest calls it).
    @discardableResult
    public func unmapPages(iova: UInt64, pgsize: UInt64, pgcount: UInt64, gather: inout Gather, gathering: Bool) -> CallResult {
        let call = beginCall(.unmapPages(iova: iova, pgsize: pgsize, pgcount: pgcount))
        let unmapped = unmapPagesBody(iova: iova, pgsize: pgsize, pgcount: pgcount, gather: &gather, gathering: gathering)
        let result = CallResult(ret: 0, value: unmapped)
        endCall(call, .unmapPages, result)
        return result
    }

    func unmapPagesBody(iova: UInt64, pgsize: UInt64, pgcount: UInt64, gather: inout Gather, gathering: Bool) -> UInt64 {
        precondition(!isFreed, "unmap_pages on freed tables")
        if pgsize == 0 || pgsize & geometry.pgsizeBitmap != pgsize || pgcount == 0 {
            warn(pgcount == 0 ? .unmapBadArguments : .badPageSize)
            return 0
        }
        if Int64(bitPattern: iova) >> Int64(geometry.ias) != 0 {
            warn(.unmapBadArguments)
            return 0
        }
        return unmap(gather: &gather, gathering: gathering, iova: iova, size: pgsize, pgcount: pgcount,
                     level: geometry.startLevel, table: root)
    }

    /// `__arm_lpae_unmap`.
    func unmap(gather: inout Gather, gathering: Bool, iova: UInt64, size: UInt64, pgcount: UInt64,
               level startLevel: Int, table startTable: Int) -> UInt64 {
        var level = startLevel
        var table = startTable
        while true {
            if level == Geometry.maxLevels {
                warn(.tableAtLastLevel)
                return 0
            }
            let index = geometry.index(of: iova, level: level)
            var pte = entry(index, of: table)
            if pte == 0 {
                warnUnlessQuiet(.unmapEmpty)
                return config.profile.unmapOfEmptyFirstEntry
            }
            if size == geometry.blockSize(level) {
                let count = Int(min(pgcount, UInt64(geometry.maxEntries(from: index))))
                var i = 0
                while i < count {
                    pte = entry(index + i, of: table)
                    if pte == 0 {
                        warnUnlessQuiet(.unmapEmpty)
                        break
                    }
                    if !DescriptorFormat.isLeaf(pte, level: level) {
                        clearEntries(table: table, index: index + i, count: 1, level: level)
                        tlbFlushWalk(iova: iova &+ UInt64(i) &* size, size: size, granule: geometry.granuleBytes)
                        let sub = child(of: pte)
                        if sub >= 0 { freeTableTree(sub) }
                    }
                    i += 1
                }
                clearEntries(table: table, index: index, count: i, level: level)
                if gathering && !gather.queued {
                    for j in 0..<i {
                        tlbAddPage(&gather, iova: iova &+ UInt64(j) &* size, granule: size)
                    }
                }
                return UInt64(i) &* size
            } else if DescriptorFormat.isLeaf(pte, level: level) {
                if config.profile.splitsBlocks {
                    return splitBlockUnmap(gather: &gather, gathering: gathering, iova: iova, size: size, pgcount: pgcount,
                                           block: pte, level: level + 1, table: table, index: index)
                }
                if !warnedPartialUnmap {
                    warnedPartialUnmap = true
                    warn(.unmapPartialBlock)
                }
                return 0
            }
            let next = child(of: pte)
            precondition(next >= 0, "descriptor \(hex16(pte)) at level \(level) points at no live table")
            table = next
            level += 1
        }
    }

    /// `__arm_lpae_clear_pte`.
    func clearEntries(table: Int, index: Int, count: Int, level: Int) {
        for i in 0..<count { write(0, table: table, index: index + i, level: level) }
        if !coherentWalk && count > 0 { syncEntries(table: table, index: index, count: count) }
    }

    /// `__arm_lpae_free_pgtable`: frees the table and everything below it, children first.
    func freeTableTree(_ id: Int) {
        let level = tables[id].level
        if level < Geometry.maxLevels - 1 {
            for i in 0..<tables[id].entries {
                let pte = entry(i, of: id)
                if pte == 0 || DescriptorFormat.isLeaf(pte, level: level) { continue }
                let sub = child(of: pte)
                if sub >= 0 { freeTableTree(sub) }
            }
        }
        freeTable(id)
    }

    /// `free_io_pgtable_ops`: `tlb_flush_all`, then every table, bottom-up.
    @discardableResult
    public func freeTables() -> CallResult {
        let call = beginCall(Call(kind: .freeTables))
        if !isFreed {
            tlbFlushAll()
            freeTableTree(root)
            isFreed = true
        }
        let result = CallResult()
        endCall(call, .freeTables, result)
        return result
    }
}
