/// The flush ops io-pgtable calls and the SMMUv3 driver's answers to them (strict mode).
extension IOPageTable {
    /// `tlb_flush_all` (`arm_smmu_tlb_inv_context`): the whole ASID or VMID.
    public func tlbFlushAll() {
        stats.flushAll += 1
        emit(.invalidate(kind: .all, iova: 0, size: 0, granule: 0))
        tlb.invalidateAll()
    }

    /// `tlb_flush_walk` (`arm_smmu_tlb_inv_walk`): synchronous non-leaf range invalidation.
    public func tlbFlushWalk(iova: UInt64, size: UInt64, granule: UInt64) {
        stats.flushWalk += 1
        emit(.invalidate(kind: .walk, iova: iova, size: size, granule: granule))
        tlb.invalidate(iova: iova, size: size, leafOnly: false, geometry: geometry)
    }

    /// `tlb_add_page` (`arm_smmu_tlb_inv_page_nosync`): adds the page to the gather,
    /// first syncing what the gather holds if the page is disjoint from it or of another size.
    public func tlbAddPage(_ gather: inout Gather, iova: UInt64, granule: UInt64) {
        stats.addPage += 1
        emit(.addPage(iova: iova, granule: granule))
        if (gather.pgsize != 0 && gather.pgsize != granule) || gather.isDisjoint(iova: iova, size: granule) {
            applyGather(&gather)
        }
        gather.pgsize = granule
        gather.addRange(iova: iova, size: granule)
    }

    /// `iommu_iotlb_sync` (`arm_smmu_iotlb_sync`): one leaf range invalidation of
    /// the gathered range, then an empty gather.
    func applyGather(_ gather: inout Gather) {
        if gather.pgsize != 0 {
            let size = gather.end &- gather.start &+ 1
            stats.leafInvalidations += 1
            emit(.invalidate(kind: .leaf, iova: gather.start, size: size, granule: gather.pgsize))
            tlb.invalidate(iova: gather.start, size: size, leafOnly: true, geometry: geometry)
        }
        gather.reset()
    }

    /// The script's `tlb_sync`: `iotlb_sync` of the io-pgtable-level gather.
    @discardableResult
    public func iotlbSync() -> CallResult {
        let call = beginCall(Call(kind: .iotlbSync))
        applyGather(&gather)
        let result = CallResult()
        endCall(call, .iotlbSync, result)
        return result
    }
}
