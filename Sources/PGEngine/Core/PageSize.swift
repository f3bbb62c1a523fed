/// `iommu_pgsize`: the page size the IOMMU core uses for the next step of a map
/// or unmap, and how many pages of it to hand to the driver in one call.
/// Nil where the kernel hits `BUG_ON(!pgsizes)`: no supported size fits the
/// size and the alignment (callers check alignment first, so only a corrupted
/// running total gets here).
public func iommuPageSize(bitmap: UInt64, iova: UInt64, paddr: UInt64, size: UInt64) -> (pgsize: UInt64, count: UInt64)? {
    guard size > 0 else { return nil }
    let addrMerge = paddr | iova
    // Page sizes supported and small enough for size.
    var pgsizes = bitmap & genmask(63 - size.leadingZeroBitCount)
    // Constrained by the alignment of both addresses.
    if addrMerge != 0 { pgsizes &= genmask(addrMerge.trailingZeroBitCount) }
    guard pgsizes != 0 else { return nil }
    let idx = 63 - pgsizes.leadingZeroBitCount
    let pgsize: UInt64 = 1 << UInt64(idx)
    var remaining = size
    // The next larger supported size, if any.
    let larger = bitmap & ~genmask(idx)
    if larger != 0 {
        let next: UInt64 = 1 << UInt64(larger.trailingZeroBitCount)
        // Worth stopping early only if both addresses share their offset in the larger page.
        if (iova ^ paddr) & (next - 1) == 0 {
            let offset = next - (addrMerge & (next - 1))
            if offset &+ next <= remaining { remaining = offset }
        }
    }
    return (pgsize, remaining >> UInt64(idx))
}

/// Bits `bit...0` set (`GENMASK(bit, 0)`).
@inline(__always)
func genmask(_ bit: Int) -> UInt64 { bit >= 63 ? .max : (1 << UInt64(bit + 1)) - 1 }
