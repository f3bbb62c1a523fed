/// Hands out simulated physical pages for table pages: from a fixed base,
/// naturally aligned, freed pages reused most-recently-freed first. The same
/// calls therefore always get the same addresses, and a freed table page that is
/// reused still holds (in memory) the descriptors it held before.
public struct TableAllocator: Sendable {
    public static let defaultBase: UInt64 = 0x4000_0000
    public static let defaultLimit: UInt64 = 0x4000_0000   // 1 GiB of table memory
    /// The kernel allocates table memory in whole CPU pages.
    public static let cpuPageSize: UInt64 = 0x1000

    public let base: UInt64
    public let limit: UInt64
    private(set) var next: UInt64
    private var freeLists: [UInt64: [UInt64]] = [:]

    public init(base: UInt64 = TableAllocator.defaultBase, limit: UInt64 = TableAllocator.defaultLimit) {
        self.base = base
        self.limit = limit
        self.next = base
    }

    /// An allocator in a given state (a checkpoint's).
    init(base: UInt64, limit: UInt64, next: UInt64, freeLists: [UInt64: [UInt64]]) {
        self.base = base
        self.limit = limit
        self.next = next
        self.freeLists = freeLists
    }

    var freeListsSnapshot: [UInt64: [UInt64]] { freeLists.filter { !$0.value.isEmpty } }

    /// Replays an allocation the engine made at `pa` (from the free list or fresh).
    mutating func claim(_ pa: UInt64, allocBytes: UInt64) {
        if var list = freeLists[allocBytes], let last = list.last, last == pa {
            list.removeLast()
            freeLists[allocBytes] = list
        } else if var list = freeLists[allocBytes], let i = list.lastIndex(of: pa) {
            list.remove(at: i)
            freeLists[allocBytes] = list
        } else {
            next = max(next, pa + allocBytes)
        }
    }

    /// Bytes the page allocator hands out for a request (`iommu_alloc_pages_node_sz`
    /// rounds to a power-of-two number of CPU pages; requests below 64 bytes are raised to 64).
    public static func allocationSize(forRequest bytes: UInt64) -> UInt64 {
        let size = max(bytes, 64)
        var alloc = cpuPageSize
        while alloc < size { alloc <<= 1 }
        return alloc
    }

    /// A fresh or reused block of `allocBytes`, or nil when the table memory is exhausted (-ENOMEM).
    mutating func allocate(_ allocBytes: UInt64) -> UInt64? {
        if var list = freeLists[allocBytes], let pa = list.popLast() {
            freeLists[allocBytes] = list
            return pa
        }
        let pa = (next + allocBytes - 1) & ~(allocBytes - 1)
        guard pa + allocBytes <= base + limit else { return nil }
        next = pa + allocBytes
        return pa
    }

    mutating func free(_ pa: UInt64, allocBytes: UInt64) {
        freeLists[allocBytes, default: []].append(pa)
    }

    /// Highest address handed out so far.
    public var highWater: UInt64 { next }
}
