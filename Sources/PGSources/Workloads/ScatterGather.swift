import PGEngine

/// The seed thread's case: one scatter-gather list of 4 KiB pages.
public struct ScatterGatherWorkload: Sendable, Hashable {
    public enum Placement: String, Sendable, Hashable { case contiguous, random }

    public var pages: Int
    public var placement: Placement
    public var seed: UInt64
    public var iova: UInt64
    /// First physical page of the region the pages come from.
    public var physicalBase: UInt64
    public var prot: Prot

    /// Bytes per page (4 KiB in the seed's case; the granule's page for other granules).
    public var pageSize: UInt64

    public init(pages: Int, placement: Placement = .random, seed: UInt64 = 1, iova: UInt64 = 0x1_0000_0000,
                physicalBase: UInt64 = 0x8000_0000, prot: Prot = [.read, .write], pageSize: UInt64 = 0x1000) {
        self.pages = pages
        self.pageSize = pageSize
        self.placement = placement
        self.seed = seed
        self.iova = iova
        self.physicalBase = physicalBase
        self.prot = prot
    }

    /// The list. Random placement scatters the pages over a region four times
    /// the list's size with a seeded bijection, so no two pages repeat and
    /// neighbours in the list are almost never neighbours in memory.
    public var segments: [Segment] {
        guard pages > 0 else { return [] }
        switch placement {
        case .contiguous:
            return (0..<pages).map { Segment(paddr: physicalBase + UInt64($0) * pageSize, length: pageSize) }
        case .random:
            var bits = 2
            while (1 << bits) < pages * 4 { bits += 1 }
            let mask = UInt64(1 << bits) - 1
            var rng = SplitMix64(seed: seed)
            let multiplier = rng.next() | 0x1_0000_0001        // odd, large: a bijection mod 2^bits
            let offset = rng.next()
            return (0..<pages).map { i in
                let frame = (UInt64(i) &* multiplier &+ offset) & mask
                return Segment(paddr: physicalBase + frame * pageSize, length: pageSize)
            }
        }
    }

    /// The one `map_sg` call.
    public var call: Call { Call(kind: .iommuMapSG, iova: iova, prot: prot, segments: segments) }
}
