/// What the SMMU caches: leaf translations and walk (table) entries.
///
/// Like the memory model it never evicts on its own, so an entry stays until an
/// invalidation removes it: the worst case software must guard against.
public struct TLB: Sendable {
    public struct Leaf: Sendable, Hashable {
        /// The descriptor the walk read (attributes and output address).
        public var pte: UInt64
        public var level: Int
    }

    /// Key: level in the top 3 bits, IOVA >> shift(level) below.
    var leaves: [UInt64: Leaf] = [:]
    /// Table descriptors cached by level and the IOVA block they translate: next table's PA.
    var walks: [UInt64: UInt64] = [:]

    public init() {}

    public var leafCount: Int { leaves.count }
    public var walkCount: Int { walks.count }

    @inline(__always)
    static func key(level: Int, iova: UInt64, geometry: Geometry) -> UInt64 {
        (UInt64(level) << 61) | (iova >> UInt64(geometry.shift(level)))
    }

    func lookupLeaf(_ iova: UInt64, geometry: Geometry) -> Leaf? {
        for level in geometry.startLevel..<Geometry.maxLevels {
            if let e = leaves[TLB.key(level: level, iova: iova, geometry: geometry)] { return e }
        }
        return nil
    }

    /// The deepest cached table entry for `iova`: (level of the table it points to, its PA).
    func lookupWalk(_ iova: UInt64, geometry: Geometry) -> (level: Int, tablePA: UInt64)? {
        guard !walks.isEmpty else { return nil }
        var level = Geometry.maxLevels - 2
        while level >= geometry.startLevel {
            if let pa = walks[TLB.key(level: level, iova: iova, geometry: geometry)] { return (level + 1, pa) }
            level -= 1
        }
        return nil
    }

    mutating func fillLeaf(_ iova: UInt64, pte: UInt64, level: Int, geometry: Geometry) {
        leaves[TLB.key(level: level, iova: iova, geometry: geometry)] = Leaf(pte: pte, level: level)
    }

    mutating func fillWalk(_ iova: UInt64, level: Int, tablePA: UInt64, geometry: Geometry) {
        walks[TLB.key(level: level, iova: iova, geometry: geometry)] = tablePA
    }

    mutating func invalidateAll() {
        leaves.removeAll(keepingCapacity: true)
        walks.removeAll(keepingCapacity: true)
    }

    /// Removes entries overlapping `[iova, iova + size)`: leaves always, walk entries
    /// too unless `leafOnly` (a leaf invalidation may keep walk-cache entries).
    mutating func invalidate(iova: UInt64, size: UInt64, leafOnly: Bool, geometry: Geometry) {
        guard size > 0 else { return }
        let last = iova &+ (size &- 1)
        Self.remove(from: &leaves, iova: iova, last: last, geometry: geometry)
        if !leafOnly { Self.remove(from: &walks, iova: iova, last: last, geometry: geometry) }
    }

    private static func remove<V>(from dict: inout [UInt64: V], iova: UInt64, last: UInt64, geometry: Geometry) {
        guard !dict.isEmpty else { return }
        // Small ranges: probe the keys directly; large ones: scan.
        var probes = 0
        for level in geometry.startLevel..<Geometry.maxLevels {
            let s = UInt64(geometry.shift(level))
            probes += Int(min((last >> s) - (iova >> s) + 1, 1 << 20))
        }
        if probes <= 256 || probes < dict.count {
            for level in geometry.startLevel..<Geometry.maxLevels {
                let s = UInt64(geometry.shift(level))
                var block = iova >> s
                while block <= last >> s {
                    dict.removeValue(forKey: (UInt64(level) << 61) | block)
                    block += 1
                }
            }
        } else {
            dict = dict.filter { key, _ in
                let level = Int(key >> 61)
                let s = UInt64(geometry.shift(level))
                let first = (key & ((1 << 61) - 1)) << s
                let end = first &+ ((1 << s) - 1)
                return end < iova || first > last
            }
        }
    }
}
