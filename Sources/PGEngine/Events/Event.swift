/// Why a range of descriptors was cleaned to memory.
public enum CleanReason: UInt8, Sendable, Codable {
    /// `__arm_lpae_sync_pte`: descriptors just written (or about to be walked).
    case descriptors = 0
    /// `dma_map_single` of a new table page: the whole page, zeroed by the CPU.
    case tableAllocation = 1
}

/// A TLB invalidation the SMMUv3 driver issues (strict mode).
public enum InvalidationKind: UInt8, Sendable, Codable {
    /// `tlb_flush_all`: the whole ASID (stage 1) or VMID (stage 2).
    case all = 0
    /// `tlb_flush_walk`: synchronous non-leaf range invalidation (tables freed).
    case walk = 1
    /// `iotlb_sync` of a gather: one leaf range invalidation.
    case leaf = 2
}

/// How a device access ended.
public enum AccessOutcome: UInt8, Sendable, Codable {
    case translated = 0
    case translationFault = 1
    case permissionFault = 2
}

/// A DMA by the device through the SMMU.
public struct AccessRecord: Sendable, Hashable, Codable {
    public init(iova: UInt64, write: Bool, outcome: AccessOutcome, pa: UInt64, tlbHit: Bool, staleRead: Bool, staleTLB: Bool,
                staleTable: Int, staleIndex: Int, staleCPUValue: UInt64, staleMemoryValue: UInt64) {
        self.iova = iova; self.write = write; self.outcome = outcome; self.pa = pa; self.tlbHit = tlbHit
        self.staleRead = staleRead; self.staleTLB = staleTLB; self.staleTable = staleTable; self.staleIndex = staleIndex
        self.staleCPUValue = staleCPUValue; self.staleMemoryValue = staleMemoryValue
    }

    public var iova: UInt64
    public var write: Bool
    public var outcome: AccessOutcome
    /// Output address when translated.
    public var pa: UInt64
    /// Served from the TLB (no walk).
    public var tlbHit: Bool
    /// The walk read a descriptor whose line was dirty and whose memory value differed from the CPU's.
    public var staleRead: Bool
    /// A TLB entry served the access but no longer matches the tables.
    public var staleTLB: Bool
    /// Table and index of the first stale descriptor read (-1 when none).
    public var staleTable: Int
    public var staleIndex: Int
    /// What the CPU view and the memory view held there.
    public var staleCPUValue: UInt64
    public var staleMemoryValue: UInt64
}

/// A kernel WARN the modelled code would hit.
public enum Warning: UInt8, Sendable, Codable, CustomStringConvertible {
    case badPageSize = 0          // map/unmap_pages: pgsize not in the bitmap
    case addressRange = 1         // map_pages: IOVA beyond IAS or PA beyond OAS
    case mapExists = 2            // init_pte / __arm_lpae_map: -EEXIST
    case replaceTableFailed = 3   // init_pte: could not unmap the old table
    case unmapEmpty = 4           // __arm_lpae_unmap: entry not mapped
    case unmapPartialBlock = 5    // WARN_ONCE partial large IOPTE
    case tableAtLastLevel = 6     // __arm_lpae_map: ran out of levels
    case syncMapEmptyEntry = 7    // seed patch: WARN_ON(!pte) in the iotlb_sync_map walk
    case syncMapBadArguments = 8  // seed patch: WARN_ON(!size) / WARN_ON(iaext)
    case unmapBadArguments = 9    // unmap_pages: pgcount 0 or IOVA beyond IAS
    case syncMapOutOfBounds = 10  // seed patch: walked past the end of a table page (pgstore's guard)
    case corePageSizeBug = 11     // iommu_pgsize: BUG_ON(!pgsizes), reached after -ENOENT through size_t

    public var description: String {
        switch self {
        case .badPageSize: return "page size not in pgsize_bitmap"
        case .addressRange: return "IOVA beyond IAS or paddr beyond OAS"
        case .mapExists: return "entry already mapped (unmap first)"
        case .replaceTableFailed: return "could not unmap the table a block replaces"
        case .unmapEmpty: return "unmap of an entry that is not mapped"
        case .unmapPartialBlock: return "unmap of a partial large IOPTE is not allowed"
        case .tableAtLastLevel: return "no table can be allocated at the last level"
        case .syncMapEmptyEntry: return "iotlb_sync_map walked an empty entry"
        case .syncMapBadArguments: return "iotlb_sync_map with size 0 or IOVA beyond IAS"
        case .unmapBadArguments: return "unmap_pages with pgcount 0 or IOVA beyond IAS"
        case .syncMapOutOfBounds: return "iotlb_sync_map indexed past the end of a table page"
        case .corePageSizeBug: return "BUG_ON(!pgsizes) in iommu_pgsize: the kernel would stop here"
        }
    }
}

/// Every state change of the engine, in order.
public enum EventPayload: Sendable, Hashable {
    case callBegin(Call)
    case callEnd(CallKind, CallResult)
    /// A CPU store of one descriptor.
    case write(table: Int, index: Int, level: Int, iova: UInt64, old: UInt64, new: UInt64)
    /// A clean of `count` descriptors from `index`; lines are numbered from the table's start.
    case clean(table: Int, index: Int, count: Int, firstLine: Int, lines: Int, alreadyClean: Int, reason: CleanReason)
    case invalidate(kind: InvalidationKind, iova: UInt64, size: UInt64, granule: UInt64)
    /// The `tlb_add_page` callback (gathers; invalidates nothing yet).
    case addPage(iova: UInt64, granule: UInt64)
    case tableAlloc(TableInfo)
    case tableFree(table: Int)
    case access(AccessRecord)
    case warn(Warning)
}

/// One event with its place in the run.
public struct Event: Sendable, Hashable {
    /// Run-wide sequence number, from 1.
    public var seq: UInt64
    /// Sequence number of the innermost call in progress (0 outside any call).
    public var call: UInt64
    public var payload: EventPayload

    public init(seq: UInt64, call: UInt64, payload: EventPayload) {
        self.seq = seq
        self.call = call
        self.payload = payload
    }
}

/// Where the engine hands its events. The engine is generic over its sink, so a
/// sink whose `isEnabled` is false costs nothing: no event is even built.
public protocol EventSink {
    static var isEnabled: Bool { get }
    mutating func record(_ event: Event)
    /// The engine is inside a core call (`iommu_map`, `map_sg`) between two of
    /// its io-pgtable calls: every event so far is applied and no io-pgtable
    /// call is half done, so the state is one a recorder may checkpoint.
    mutating func safePoint()
}

extension EventSink {
    @inline(__always) public mutating func safePoint() {}
}

/// Discards everything, at no cost.
public struct NullSink: EventSink {
    public static var isEnabled: Bool { false }
    public init() {}
    @inline(__always) public mutating func record(_ event: Event) {}
}

/// Keeps every event in memory (the `run` command, tests).
public struct EventLog: EventSink {
    public static var isEnabled: Bool { true }
    public var events: [Event] = []
    public init() {}
    public mutating func record(_ event: Event) { events.append(event) }
}
