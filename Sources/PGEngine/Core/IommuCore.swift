/// The IOMMU core (drivers/iommu/iommu.c) driving a page table's io-pgtable
/// ops the way the SMMUv3 driver wires them: `iommu_map`, `iommu_map_sg`,
/// `iommu_unmap`. Written once over ``IommuCoreBackend``, so the same steps
/// run in pgstore's engine or in a kernel tree's io-pgtable-arm.c.
public struct IommuCore<Backend: IommuCoreBackend> {
    public let ops: Backend

    public init(_ ops: Backend) { self.ops = ops }

    private var minPageSize: UInt64 { UInt64(1) << UInt64(ops.corePgsizeBitmap.trailingZeroBitCount) }

    /// `iommu_map`: splits into page-size steps, maps them, unwinds on error, then
    /// `iotlb_sync_map` over the range.
    @discardableResult
    public func map(iova: UInt64, paddr: UInt64, size: UInt64, prot: Prot) throws(Backend.Failure) -> CallResult {
        let call = ops.coreBeginCall(Call(kind: .iommuMap, iova: iova, paddr: paddr, size: size, prot: prot))
        let ret = try mapNoSync(iova: iova, paddr: paddr, size: size, prot: prot)
        if ret == 0 { try syncMap(iova: iova, size: size) }
        let result = CallResult(ret: ret, value: ret == 0 ? size : 0)
        ops.coreEndCall(call, .iommuMap, result)
        return result
    }

    /// `iommu_map_nosync`.
    func mapNoSync(iova startIova: UInt64, paddr startPaddr: UInt64, size startSize: UInt64,
                   prot: Prot) throws(Backend.Failure) -> Int64 {
        if (startIova | startPaddr | startSize) & (minPageSize - 1) != 0 { return -Errno.EINVAL }
        var iova = startIova, paddr = startPaddr, size = startSize
        var ret: Int64 = 0
        while size > 0 {
            guard let step = iommuPageSize(bitmap: ops.corePgsizeBitmap, iova: iova, paddr: paddr, size: size) else {
                ops.coreWarn(.corePageSizeBug)
                ret = -Errno.EINVAL
                break
            }
            let r = try ops.run(.mapPages(iova: iova, paddr: paddr, pgsize: step.pgsize, pgcount: step.count, prot: prot))
            // Some pages may have been mapped even on error; account for them so they are unmapped.
            size &-= r.value
            ret = r.ret
            if ret != 0 { break }
            iova &+= r.value
            paddr &+= r.value
            ops.coreSafePoint()
        }
        if ret != 0 {
            ops.coreFlushBatch()
            _ = try unmapNoCall(iova: startIova, size: startSize &- size)
        }
        return ret
    }

    /// `iommu_sync_map`: the driver's `iotlb_sync_map`, where it has one.
    func syncMap(iova: UInt64, size: UInt64) throws(Backend.Failure) {
        guard ops.coreHasSyncMap else { return }
        _ = try ops.run(Call(kind: .iotlbSyncMap, iova: iova, size: size))
    }

    /// `iommu_map_sg`: maps each physically contiguous run of the list at
    /// consecutive IOVAs without syncing, then one `iotlb_sync_map` over all of
    /// it; on error unmaps everything it mapped. `value` is the bytes mapped.
    ///
    /// Under `batched-sg` the leaf cleans of the whole list are collected and
    /// each touched run of each table is cleaned once at the end.
    @discardableResult
    public func mapSG(iova: UInt64, segments: [Segment], prot: Prot) throws(Backend.Failure) -> CallResult {
        let call = ops.coreBeginCall(Call(kind: .iommuMapSG, iova: iova, prot: prot, segments: segments))
        let batched = ops.coreBatchesMapSG
        if batched { ops.coreBeginBatch() }
        var mapped: UInt64 = 0
        var ret: Int64 = 0
        var runStart: UInt64 = 0
        var runLength: UInt64 = 0
        // Merge physically contiguous segments, as the kernel's loop does.
        for segment in segments + [Segment(paddr: .max, length: 0)] {
            if runLength != 0 && segment.paddr != runStart &+ runLength {
                ret = try mapNoSync(iova: iova &+ mapped, paddr: runStart, size: runLength, prot: prot)
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
        if batched { ops.coreFlushBatch() }
        if ret == 0 {
            try syncMap(iova: iova, size: mapped)
        } else {
            _ = try unmapNoCall(iova: iova, size: mapped)
        }
        let result = CallResult(ret: ret, value: ret == 0 ? mapped : 0)
        ops.coreEndCall(call, .iommuMapSG, result)
        return result
    }

    /// `iommu_unmap`: unmaps in page-size steps into a fresh gather, then
    /// `iotlb_sync`. `value` is the bytes unmapped (with the kernel's size_t
    /// arithmetic when an io-pgtable unmap returns -ENOENT).
    @discardableResult
    public func unmap(iova: UInt64, size: UInt64) throws(Backend.Failure) -> CallResult {
        let call = ops.coreBeginCall(Call(kind: .iommuUnmap, iova: iova, size: size))
        let unmapped = try unmapNoCall(iova: iova, size: size)
        let result = CallResult(ret: 0, value: unmapped)
        ops.coreEndCall(call, .iommuUnmap, result)
        return result
    }

    /// `__iommu_unmap` and the `iotlb_sync` after it.
    func unmapNoCall(iova startIova: UInt64, size: UInt64) throws(Backend.Failure) -> UInt64 {
        if (startIova | size) & (minPageSize - 1) != 0 { return 0 }
        var gather = Gather()
        var iova = startIova
        var unmapped: UInt64 = 0
        while unmapped < size {
            // An io-pgtable unmap of an empty entry returns -ENOENT through size_t;
            // the core adds it to its totals like any size, and on its next step
            // iommu_pgsize finds no page size and the kernel BUGs. pgstore stops there.
            guard let step = iommuPageSize(bitmap: ops.corePgsizeBitmap, iova: iova, paddr: iova, size: size &- unmapped) else {
                ops.coreWarn(.corePageSizeBug)
                break
            }
            let r = try ops.coreUnmapPages(iova: iova, pgsize: step.pgsize, pgcount: step.count, gather: &gather)
            if r.value == 0 { break }
            iova &+= r.value
            unmapped &+= r.value
            // Between two unmap_pages of one long unmap, as between two
            // map_pages of a map: the core's gather is the call's own, not
            // state, so a checkpoint here is as good as one between calls.
            ops.coreSafePoint()
        }
        ops.coreIotlbSync(&gather)
        return unmapped
    }
}

/// The engine's own entry points to the core, as scripts and traces call them.
extension IOPageTable {
    @discardableResult
    public func map(iova: UInt64, paddr: UInt64, size: UInt64, prot: Prot) -> CallResult {
        IommuCore(self).map(iova: iova, paddr: paddr, size: size, prot: prot)
    }

    @discardableResult
    public func mapSG(iova: UInt64, segments: [Segment], prot: Prot) -> CallResult {
        IommuCore(self).mapSG(iova: iova, segments: segments, prot: prot)
    }

    @discardableResult
    public func unmap(iova: UInt64, size: UInt64) -> CallResult {
        IommuCore(self).unmap(iova: iova, size: size)
    }
}
