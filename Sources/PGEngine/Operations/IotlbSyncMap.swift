/// `iotlb_sync_map`: what it does depends on the strategy. Mainline io-pgtable-arm
/// has no such op (the call does nothing); the seed patch adds one that walks the
/// range and cleans each run of descriptors once.
extension IOPageTable {
    @discardableResult
    public func iotlbSyncMap(iova: UInt64, size: UInt64) -> CallResult {
        let call = beginCall(Call(kind: .iotlbSyncMap, iova: iova, size: size))
        syncMapBody(iova: iova, size: size)
        let result = CallResult()
        endCall(call, .iotlbSyncMap, result)
        return result
    }

    func syncMapBody(iova: UInt64, size: UInt64) {
        precondition(!isFreed, "iotlb_sync_map on freed tables")
        // The patch registers the op only for a non-coherent walker.
        guard !coherentWalk else { return }
        switch strategy {
        case .deferred:
            if size == 0 { warn(.syncMapBadArguments) }
            if Int64(bitPattern: iova) >> Int64(geometry.ias) != 0 { warn(.syncMapBadArguments) }
            _ = seedSyncMap(iova: iova, size: size, level: geometry.startLevel, table: root)
        case .deferredFixed:
            var cleaner = RunCleaner(engine: self)
            walk(iova: iova, size: size, visitor: &cleaner)
        case .eager, .batchedSG, .coherent:
            break
        }
    }

    /// `__arm_lpae_iotlb_sync_map` of the seed's v1 patch, reproduced as posted,
    /// with C's unsigned wrap-around: the object of study, not to be corrected.
    private func seedSyncMap(iova startIova: UInt64, size startSize: UInt64, level: Int, table: Int) -> Int64 {
        var iova = startIova
        var size = startSize
        let blockSize = geometry.blockSize(level)
        // shift = ARM_LPAE_LVL_SHIFT(lvl - 1) + ARM_LPAE_PGD_IDX(lvl - 1)
        let shift = geometry.shift(level - 1) + geometry.pgdIndexBits(level - 1)
        let iovaOffset = iova & ((1 &<< UInt64(truncatingIfNeeded: shift)) &- 1)
        let syncStart = UInt64(geometry.index(of: iova, level: level))
        let syncEnd = (iovaOffset &+ size &+ blockSize &- geometry.granuleBytes) &>> UInt64(geometry.shift(level))
        let maxEntries = UInt64(geometry.maxEntries(from: Int(syncStart)))
        var numEntries = Int(min(syncEnd &- syncStart, maxEntries))
        let start = Int(syncStart)
        // The C code indexes the table memory directly; pgstore stops at the
        // end of the table's allocation and says so.
        let limit = Int(tables[table].allocBytes / 8)
        if start + numEntries > limit {
            warn(.syncMapOutOfBounds)
            numEntries = max(0, limit - start)
        }
        var synced = 0
        if level < Geometry.maxLevels - 1 {
            for i in 0..<numEntries {
                let pte = entry(start + i, of: table)
                if pte == 0 { warn(.syncMapEmptyEntry) }
                if pte & DescriptorBits.typeMask == DescriptorBits.typeTable {
                    let n = i - synced
                    if n > 0 {
                        syncEntries(table: table, index: start + synced, count: n)
                        synced += n
                    }
                    let sub = child(of: pte)
                    if sub >= 0 { _ = seedSyncMap(iova: iova, size: size, level: level + 1, table: sub) }
                    synced += 1
                }
                let step = blockSize &- (iova & (blockSize &- 1))
                size &-= step
                iova &+= step
            }
        }
        if synced != numEntries {
            syncEntries(table: table, index: start + synced, count: numEntries - synced)
        }
        return 0
    }
}

/// The corrected walk: cleans each run the range walker hands out, once.
struct RunCleaner<Sink: EventSink>: RangeVisitor {
    let engine: IOPageTable<Sink>
    mutating func run(table: Int, level: Int, index: Int, count: Int) {
        if level < Geometry.maxLevels - 1 {
            for i in index..<(index + count) where engine.entry(i, of: table) == 0 {
                engine.warn(.syncMapEmptyEntry)
            }
        }
        engine.syncEntries(table: table, index: index, count: count)
    }
}
