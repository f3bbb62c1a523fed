/// `struct iommu_iotlb_gather`: the leaf range that unmaps collect before one invalidation.
public struct Gather: Sendable, Hashable, Codable {
    public var start: UInt64 = .max
    public var end: UInt64 = 0
    public var pgsize: UInt64 = 0
    /// Lazy (flush-queue) mode: io-pgtable gathers nothing.
    public var queued: Bool = false

    public init(queued: Bool = false) { self.queued = queued }

    public var isEmpty: Bool { pgsize == 0 }

    /// `iommu_iotlb_gather_is_disjoint`.
    func isDisjoint(iova: UInt64, size: UInt64) -> Bool {
        let last = iova &+ size &- 1
        return end != 0 && (last &+ 1 < start || iova > end &+ 1)
    }

    /// `iommu_iotlb_gather_add_range`.
    mutating func addRange(iova: UInt64, size: UInt64) {
        let last = iova &+ size &- 1
        if start > iova { start = iova }
        if end < last { end = last }
    }

    mutating func reset() {
        let q = queued
        self = Gather(queued: q)
    }
}
