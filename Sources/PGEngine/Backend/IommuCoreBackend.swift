/// What the IOMMU core layer (``IommuCore``) needs of a page table beyond its
/// io-pgtable calls: the page sizes it offers, call brackets so the core's own
/// call holds the io-pgtable calls it makes, the core's WARN, an `unmap_pages`
/// into the core's own gather and the `iotlb_sync` of that gather, and whether
/// `iotlb_sync_map` exists. The engine and the kernel helper both implement it,
/// so `iommu_map`, `iommu_map_sg` and `iommu_unmap` are written once.
public protocol IommuCoreBackend: PageTableBackend {
    /// The page sizes after io-pgtable's restriction (`cfg.pgsize_bitmap`).
    var corePgsizeBitmap: UInt64 { get }
    /// True when the driver's `iotlb_sync_map` does something, so the core calls it.
    var coreHasSyncMap: Bool { get }
    /// True when `map_sg` collects leaf cleans and flushes them once (`batched-sg`).
    var coreBatchesMapSG: Bool { get }

    /// Opens the core's call; returns the token for ``coreEndCall(_:_:_:)``.
    func coreBeginCall(_ call: Call) -> UInt64
    func coreEndCall(_ token: UInt64, _ kind: CallKind, _ result: CallResult)
    /// A WARN of the core itself (`iommu_pgsize` finding no page size).
    func coreWarn(_ warning: Warning)
    /// `ops->unmap_pages` with the core's gather.
    func coreUnmapPages(iova: UInt64, pgsize: UInt64, pgcount: UInt64, gather: inout Gather) throws(Failure) -> CallResult
    /// `iommu_iotlb_sync` of the core's gather.
    func coreIotlbSync(_ gather: inout Gather)
    /// Starts and ends the collection of leaf cleans of a batched `map_sg`.
    func coreBeginBatch()
    func coreFlushBatch()
    /// Between two io-pgtable calls of a core map: where a recording may
    /// checkpoint the middle of a long call (``EventSink/safePoint()``).
    func coreSafePoint()
}

extension IommuCoreBackend {
    public func coreSafePoint() {}
}

extension IOPageTable: IommuCoreBackend {
    public var corePgsizeBitmap: UInt64 { geometry.pgsizeBitmap }
    public var coreHasSyncMap: Bool { strategy.defersLeafSync && !coherentWalk }
    public var coreBatchesMapSG: Bool { strategy == .batchedSG && !coherentWalk }

    public func coreBeginCall(_ call: Call) -> UInt64 { beginCall(call) }
    public func coreEndCall(_ token: UInt64, _ kind: CallKind, _ result: CallResult) { endCall(token, kind, result) }
    public func coreWarn(_ warning: Warning) { warn(warning) }
    public func coreUnmapPages(iova: UInt64, pgsize: UInt64, pgcount: UInt64, gather: inout Gather) -> CallResult {
        unmapPages(iova: iova, pgsize: pgsize, pgcount: pgcount, gather: &gather, gathering: true)
    }
    public func coreIotlbSync(_ gather: inout Gather) { applyGather(&gather) }
    public func coreBeginBatch() { beginBatch() }
    public func coreFlushBatch() { flushBatch() }
    public func coreSafePoint() { sink.safePoint() }
}
