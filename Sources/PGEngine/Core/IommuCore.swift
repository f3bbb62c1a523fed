/// The IOMMU core (drivers/iommu/iommu.c) driving the io-pgtable ops the way
/// the SMMUv3 driver wires them: `iommu_map`, `iommu_map_sg`, `iommu_unmap`.
extension IOPageTable {
    /// `iommu_map`: splits into page-size steps, maps them, unwinds on error, then
    /// `iotlb_sync_map` over the range.
    @discardableResult
    public func map(iova: UInt64, paddr: UInt64, size: UInt64, prot: Prot) -> CallResult {
        let call = beginCall(Call(kind: .iommuMap, iova: iova, paddr: paddr, size: size, prot: prot))
        var ret = mapNoSync(iova: iova, paddr: paddr, size: size, prot: prot)
        if ret == 0 {
            syncMapForCore(iova: iova, size: size)
            ret = 0
        }
        let result = CallResult(ret: ret, value: ret == 0 ? size : 0)
        endCall(call, .iommuMap, result)
        return result
    }

    /// `iommu_map_nosync`.
    func mapNoSync(iova startIova: UInt64, paddr startPaddr: UInt64, size startSize: UInt64, prot: Prot) -> Int64 {
        let minPage = geometry.minPageSize
        if (startIova | startPaddr | startSize) & (minPage - 1) != 0 { return -Errno.EINVAL }
        var iova = startIova, paddr = startPaddr, size = startSize
        var ret: Int64 = 0
        while size > 0 {
            guard let step = iommuPageSize(bitmap: geometry.pgsizeBitmap, iova: iova, paddr: paddr, size: size) else {
                warn(.corePageSizeBug)
                ret = -Errno.EINVAL
                break
            }
            let r = mapPages(iova: iova, paddr: paddr, pgsize: step.pgsize, pgcount: step.count, prot: prot)
            // Some pages may have been mapped even on error; account for them so they are unmapped.
            size &-= r.value
            ret = r.ret
            if ret != 0 { break }
            iova &+= r.value
            paddr &+= r.value
        }
        if ret != 0 {
            flushBatch()
            _ = unmapForCore(iova: startIova, size: startSize &- size)
        }
        return ret
    }

    /// `iommu_sync_map`: the driver's `iotlb_sync_map`, which exists only with the seed patch.
    func syncMapForCore(iova: UInt64, size: UInt64) {
        guard strategy.defersLeafSync, !coherentWalk else { return }
        iotlbSyncMap(iova: iova, size: size)
    }

    /// `iommu_map_sg`: maps each physically contiguous run of the list at
    /// consecutive IOVAs without syncing, then one `iotlb_sync_map` over all of
    /// it; on error unmaps everything it mapped. `value` is the bytes mapped.
    ///
    /// Under `batched-sg` the leaf cleans of the whole list are collected and
    /// each touched run of each table is cleaned once at the end.
    @discardableResult
    public func mapSG(iova: UInt64, segments: [Segment], prot: Prot) -> CallResult {
        let call = beginCall(Call(kind: .iommuMapSG, iova: iova, prot: prot, segments: segments))
        let batched = strategy == .batchedSG && !coherentWalk
        if batched { beginBatch() }
        var mapped: UInt64 = 0
        var ret: Int64 = 0
        var runStart: UInt64 = 0
        var runLength: UInt64 = 0
        // Merge physically contiguous segments, as the kernel's loop does.
        for segment in segments + [Segment(paddr: .max, length: 0)] {
            if runLength != 0 && segment.paddr != runStart &+ runLength {
                ret = mapNoSync(iova: iova &+ mapped, paddr: runStart, size: runLength, prot: prot)
                if ret != 0 { break }
                mapped &+= runLength
                runLength = 0
            }
            if segment.length == 0 && segment.paddr == .max { break }
            if runLength != 0 {
                runLength &+= segment.length
            } else {
                runStart = segment.paddr
                runLength = segment.length
            }
        }
        if batched { flushBatch() }
        if ret == 0 {
            syncMapForCore(iova: iova, size: mapped)
        } else {
            _ = unmapForCore(iova: iova, size: mapped)
        }
        let result = CallResult(ret: ret, value: ret == 0 ? mapped : 0)
        endCall(call, .iommuMapSG, result)
        return result
    }

    /// `iommu_unmap`: unmaps in page-size steps into a fresh gather, then
    /// `iotlb_sync`. `value` is the bytes unmapped (with the kernel's size_t
    /// arithmetic when an io-pgtable unmap returns -ENOENT).
    @discardableResult
    public func unmap(iova: UInt64, size: UInt64) -> CallResult {
        let call = beginCall(Call(kind: .iommuUnmap, iova: iova, size: size))
        let unmapped = unmapForCore(iova: iova, size: size)
        let result = CallResult(ret: 0, value: unmapped)
        endCall(call, .iommuUnmap, result)
        return result
    }

    func unmapForCore(iova startIova: UInt64, size: UInt64) -> UInt64 {
        let minPage = geometry.minPageSize
        if (startIova | size) & (minPage - 1) != 0 { return 0 }
        var localGather = Gather()
        var iova = startIova
        var unmapped: UInt64 = 0
        while unmapped < size {
            // An io-pgtable unmap of an empty entry returns -ENOENT through size_t;
            // the core adds it to its totals like any size, and on its next step
            // iommu_pgsize finds no page size and the kernel BUGs. pgstore stops there.
            guard let step = iommuPageSize(bitmap: geometry.pgsizeBitmap, iova: iova, paddr: iova, size: size &- unmapped) else {
                warn(.corePageSizeBug)
                break
            }
            let r = unmapPages(iova: iova, pgsize: step.pgsize, pgcount: step.count, gather: &localGather, gathering: true)
            if r.value == 0 { break }
            iova &+= r.value
            unmapped &+= r.value
        }
        applyGather(&localGather)
        return unmapped
    }
}
