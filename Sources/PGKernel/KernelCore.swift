import PGEngine

/// The kernel backend under pgstore's IOMMU core: `iommu_map`, `iommu_map_sg`
/// and `iommu_unmap` split and loop in ``IommuCore`` and send each
/// `map_pages` / `unmap_pages` to the kernel's ops; the core's gather and its
/// `iotlb_sync` are pgstore's, as the SMMUv3 driver's are the driver's.
extension KernelPageTable: IommuCoreBackend {
    /// The kernel's `cfg.pgsize_bitmap` after `alloc_io_pgtable_ops` (from its `G` line).
    public var corePgsizeBitmap: UInt64 { geometry.pgsizeBitmap }
    /// The tree's ops have `iotlb_sync_map` (the seed's patch).
    public var coreHasSyncMap: Bool { tree.hasSyncMap }
    /// `batched-sg` is a strategy of pgstore's engine, not of any kernel.
    public var coreBatchesMapSG: Bool { false }

    public func coreBeginCall(_ call: Call) -> UInt64 { beginCall(call) }
    public func coreEndCall(_ token: UInt64, _ kind: CallKind, _ result: CallResult) { endCall(token, kind, result) }

    public func coreWarn(_ warning: Warning) {
        stats.warnings += 1
        emit(.warn(warning))
    }

    /// `unmap_pages` in the kernel with the core's gather: the kernel's
    /// `tlb_add_page` callbacks land in it, not in the script's gather.
    public func coreUnmapPages(iova: UInt64, pgsize: UInt64, pgcount: UInt64,
                               gather: inout Gather) throws(KernelError) -> CallResult {
        let saved = model.gather
        model.gather = gather
        defer {
            gather = model.gather
            model.gather = saved
        }
        let call = Call.unmapPages(iova: iova, pgsize: pgsize, pgcount: pgcount)
        let step = "unmap 0x\(hex(iova)) 0x\(hex(pgsize)) \(pgcount) \(gather.queued ? "queued" : "normal")"
        return try kernelCall(call, step) { CallResult(ret: $0, value: $1) }
    }

    /// Between two io-pgtable calls of a core call: the model holds every
    /// event so far (its seq brought up to the backend's, as at the end of
    /// ``run(_:)``), so the recording may checkpoint the middle of a long
    /// `map_sg` or `iommu_unmap` run in the kernel's code.
    public func coreSafePoint() {
        model.setSeq(seq)
        sink.safePoint()
    }

    /// `iommu_iotlb_sync` of the core's gather: one leaf invalidation in pgstore's TLB.
    public func coreIotlbSync(_ gather: inout Gather) {
        let saved = model.gather
        model.gather = gather
        model.iotlbSync()
        if gather.pgsize != 0 { emitLeaf(gather) }
        gather = model.gather
        model.gather = saved
    }

    public func coreBeginBatch() {}
    public func coreFlushBatch() {}
}
