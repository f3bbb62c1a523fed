/// `map_pages`, as `arm_lpae_map_pages` and `__arm_lpae_map` do it.
extension IOPageTable {
    /// Maps up to `pgcount` pages of `pgsize` at `iova`. Like the kernel it stops
    /// at the end of the leaf table: `value` of the result is the bytes mapped,
    /// and the caller loops for the rest.
    @discardableResult
    public func mapPages(iova: UInt64, paddr: UInt64, pgsize: UInt64, pgcount: UInt64, prot: Prot) -> CallResult {
        let call = beginCall(.mapPages(iova: iova, paddr: paddr, pgsize: pgsize, pgcount: pgcount, prot: prot))
        let result = mapPagesBody(iova: iova, paddr: paddr, pgsize: pgsize, pgcount: pgcount, prot: prot)
        endCall(call, .mapPages, result)
        return result
    }

    func mapPagesBody(iova: UInt64, paddr: UInt64, pgsize: UInt64, pgcount: UInt64, prot: Prot) -> CallResult {
        precondition(!isFreed, "map_pages on freed tables")
        if pgsize == 0 || pgsize & geometry.pgsizeBitmap != pgsize {
            warn(.badPageSize)
            return CallResult(ret: -Errno.EINVAL)
        }
        let iaext = Int64(bitPattern: iova) >> Int64(geometry.ias)
        if iaext != 0 || paddr >> UInt64(geometry.oas) != 0 {
            warn(.addressRange)
            return CallResult(ret: -Errno.ERANGE)
        }
        if !prot.contains(.read) && !prot.contains(.write) {
            return CallResult(ret: -Errno.EINVAL)
        }
        let attributes = format.attributes(for: prot)
        var mapped: UInt64 = 0
        let ret = map(iova: iova, paddr: paddr, size: pgsize, pgcount: pgcount, attributes: attributes,
                      level: geometry.startLevel, table: root, mapped: &mapped)
        return CallResult(ret: ret, value: mapped)
    }

    /// `__arm_lpae_map`: walks down, installing tables, to the level whose block size is `size`.
    private func map(iova: UInt64, paddr: UInt64, size: UInt64, pgcount: UInt64, attributes: UInt64,
                     level startLevel: Int, table startTable: Int, mapped: inout UInt64) -> Int64 {
        var level = startLevel
        var table = startTable
        while true {
            let index = geometry.index(of: iova, level: level)
            if size == geometry.blockSize(level) {
                let count = Int(min(pgcount, UInt64(geometry.maxEntries(from: index))))
                let ret = initLeaves(iova: iova, paddr: paddr, attributes: attributes, level: level,
                                     count: count, table: table, index: index)
                if ret == 0 { mapped &+= UInt64(count) &* size }
                return ret
            }
            if level >= Geometry.maxLevels - 1 {
                warn(.tableAtLastLevel)
                return -Errno.EINVAL
            }
            var pte = entry(index, of: table)
            if pte == 0 {
                let blockBase = tables[table].iovaBase &+ UInt64(index) &* geometry.blockSize(level)
                guard let newTable = allocateTable(level: level + 1, parent: table, parentIndex: index,
                                                   iovaBase: blockBase) else {
                    return -Errno.ENOMEM
                }
                installTable(newTable, in: table, index: index, level: level)
                table = newTable
                level += 1
                continue
            } else if !coherentWalk && pte & DescriptorBits.swSync == 0 {
                syncEntries(table: table, index: index, count: 1)
                pte = entry(index, of: table)
            }
            if DescriptorFormat.isLeaf(pte, level: level) {
                warnUnlessQuiet(.mapExists)
                return -Errno.EEXIST
            }
            let next = child(of: pte)
            precondition(next >= 0, "descriptor \(hex16(pte)) at level \(level) points at no live table")
            table = next
            level += 1
        }
    }

    /// `arm_lpae_install_table`: writes the table descriptor; for a non-coherent
    /// walker cleans it and then marks it SW_SYNC so later walks need not clean it.
    func installTable(_ newTable: Int, in table: Int, index: Int, level: Int) {
        let pte = format.table(at: tables[newTable].pa)
        write(pte, table: table, index: index, level: level)
        guard !coherentWalk else { return }
        syncEntries(table: table, index: index, count: 1)
        write(pte | DescriptorBits.swSync, table: table, index: index, level: level)
    }

    /// `arm_lpae_init_pte` and `__arm_lpae_init_pte`.
    private func initLeaves(iova: UInt64, paddr: UInt64, attributes: UInt64, level: Int,
                            count: Int, table: Int, index: Int) -> Int64 {
        let blockSize = geometry.blockSize(level)
        for i in 0..<count {
            let pte = entry(index + i, of: table)
            if DescriptorFormat.isLeaf(pte, level: level) {
                warnUnlessQuiet(.mapExists)
                return -Errno.EEXIST
            } else if pte & DescriptorBits.typeMask == DescriptorBits.typeTable {
                // A block replaces an (empty or not) table: unmap and free it first.
                var none = Gather()
                let unmapped = unmap(gather: &none, gathering: false, iova: iova &+ UInt64(i) &* blockSize,
                                     size: blockSize, pgcount: 1, level: level, table: table)
                if unmapped != blockSize {
                    warn(.replaceTableFailed)
                    return -Errno.EINVAL
                }
            }
        }
        for i in 0..<count {
            let pte = format.leaf(paddr: paddr &+ UInt64(i) &* blockSize, attributes: attributes, level: level)
            write(pte, table: table, index: index + i, level: level)
        }
        syncNewLeaves(table: table, index: index, count: count)
        return 0
    }

    /// The end of `__arm_lpae_init_pte`: the clean of the leaves just written
    /// (for a non-coherent walker), or what the strategy does instead.
    func syncNewLeaves(table: Int, index: Int, count: Int) {
        guard !coherentWalk && count > 0 else { return }
        if pending != nil {
            pending!.add(table: table, index: index, count: count)
        } else if !strategy.defersLeafSync {
            syncEntries(table: table, index: index, count: count)
        }
    }
}
