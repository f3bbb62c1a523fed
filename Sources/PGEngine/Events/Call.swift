/// The calls pgstore models, named as the scripts and the kernel name them.
public enum CallKind: String, Sendable, Codable, CaseIterable {
    // io-pgtable ops
    case allocTables = "alloc_io_pgtable_ops"
    case mapPages = "map"
    case unmapPages = "unmap"
    case iovaToPhys = "iova_to_phys"
    case iotlbSyncMap = "sync_map"
    case freeTables = "free_io_pgtable_ops"
    // IOMMU core
    case iommuMap = "iommu_map"
    case iommuMapSG = "map_sg"
    case iommuUnmap = "iommu_unmap"
    case iotlbSync = "tlb_sync"
    // device
    case access = "access"
}

/// One physically contiguous piece of a scatter-gather list.
public struct Segment: Sendable, Hashable, Codable {
    public var paddr: UInt64
    public var length: UInt64
    public init(paddr: UInt64, length: UInt64) {
        self.paddr = paddr
        self.length = length
    }
}

/// A call and its arguments. Fields a kind does not use stay zero.
public struct Call: Sendable, Hashable, Codable {
    public var kind: CallKind
    public var iova: UInt64 = 0
    public var paddr: UInt64 = 0
    /// `pgsize` for map/unmap, `size` for sync_map and the core calls.
    public var size: UInt64 = 0
    /// `pgcount` for map/unmap.
    public var count: UInt64 = 0
    /// Protection for maps; for `access`, `.read` or `.write` (plus `.priv`).
    public var prot: Prot = []
    /// The list of `map_sg`.
    public var segments: [Segment] = []

    public init(kind: CallKind, iova: UInt64 = 0, paddr: UInt64 = 0, size: UInt64 = 0, count: UInt64 = 0,
                prot: Prot = [], segments: [Segment] = []) {
        self.kind = kind
        self.iova = iova
        self.paddr = paddr
        self.size = size
        self.count = count
        self.prot = prot
        self.segments = segments
    }

    public static func mapPages(iova: UInt64, paddr: UInt64, pgsize: UInt64, pgcount: UInt64, prot: Prot) -> Call {
        Call(kind: .mapPages, iova: iova, paddr: paddr, size: pgsize, count: pgcount, prot: prot)
    }
    public static func unmapPages(iova: UInt64, pgsize: UInt64, pgcount: UInt64) -> Call {
        Call(kind: .unmapPages, iova: iova, size: pgsize, count: pgcount)
    }
}

/// What a call returned: `ret` is 0 or a negative errno; `value` is what the
/// call reports besides (`mapped`, `unmapped`, `phys`).
public struct CallResult: Sendable, Hashable, Codable {
    public var ret: Int64
    public var value: UInt64
    public init(ret: Int64 = 0, value: UInt64 = 0) {
        self.ret = ret
        self.value = value
    }
}

/// Kernel errno values the modelled calls return.
public enum Errno {
    public static let ENOENT: Int64 = 2
    public static let ENOMEM: Int64 = 12
    public static let EFAULT: Int64 = 14
    public static let EEXIST: Int64 = 17
    public static let EINVAL: Int64 = 22
    public static let ERANGE: Int64 = 34

    public static func name(_ ret: Int64) -> String {
        switch -ret {
        case ENOENT: return "ENOENT"
        case ENOMEM: return "ENOMEM"
        case EFAULT: return "EFAULT"
        case EEXIST: return "EEXIST"
        case EINVAL: return "EINVAL"
        case ERANGE: return "ERANGE"
        default: return "E\(-ret)"
        }
    }
}
