/// Running totals the engine keeps whether or not it has a sink.
public struct EngineStats: Sendable, Hashable, Codable {
    /// `__arm_lpae_sync_pte` calls and the lines they touched.
    public var cleanCalls = 0
    public var cleanLines = 0
    /// Lines those cleans found clean already.
    public var cleanLinesAlreadyClean = 0
    /// Whole-table cleans at allocation (`dma_map_single`) and their lines.
    public var allocationCleans = 0
    public var allocationCleanLines = 0
    public var descriptorWrites = 0
    public var tablesAllocated = 0
    public var tablesFreed = 0
    public var flushAll = 0
    public var flushWalk = 0
    public var addPage = 0
    public var leafInvalidations = 0
    public var warnings = 0
    public var accesses = 0
    public var staleReads = 0
    public var staleTLBHits = 0
    public init() {}
}

/// One Arm LPAE IO page table as io-pgtable-arm builds it, with the memory it
/// lives in (CPU view and memory view), the SMMU's TLB, and a sync strategy.
///
/// The engine is single-threaded and generic over its event sink: with
/// ``NullSink`` it builds no events at all.
public final class IOPageTable<Sink: EventSink> {
    public let config: PageTableConfig
    public let geometry: Geometry
    public let format: DescriptorFormat
    public let strategy: Strategy
    /// Whether the walk is coherent (the config's, or forced by the strategy).
    public let coherentWalk: Bool
    public var sink: Sink

    public internal(set) var memory: PhysicalMemory
    var allocator: TableAllocator
    /// Every table ever allocated, by id (allocation ordinal).
    public internal(set) var tables: [TableInfo] = []
    /// Live table covering each 4 KiB frame of table memory, or -1.
    var tableAtFrame: [Int32] = []
    /// Id of the root table.
    public internal(set) var root: Int = 0
    public internal(set) var stats = EngineStats()
    /// Sequence number of the last event.
    public internal(set) var seq: UInt64 = 0
    var callStack: [UInt64] = []
    /// Sequence number of the most recent top-level call's begin event.
    public internal(set) var lastTopLevelCall: UInt64 = 0
    /// The gather the io-pgtable-level `unmap` adds to, applied by `iotlbSync()`.
    public var gather = Gather()
    public internal(set) var tlb = TLB()
    var warnedPartialUnmap = false
    /// Leaf runs written during a batched `map_sg`, cleaned once at its end.
    var pending: PendingCleans?
    /// True once the tables have been freed.
    public internal(set) var isFreed = false

    /// Allocates the root table, as `alloc_io_pgtable_ops` does.
    public convenience init(config: PageTableConfig, strategy: Strategy = .eager, sink: Sink) throws(ConfigError) {
        try self.init(config: config, strategy: strategy, sink: sink, blank: false)
    }

    /// With `blank`, an engine with no table at all (the state before the first
    /// event of a run), for replaying events or loading a state into.
    public init(config: PageTableConfig, strategy: Strategy, sink: Sink, blank: Bool,
                tableMemoryBase: UInt64 = TableAllocator.defaultBase,
                tableMemoryLimit: UInt64 = TableAllocator.defaultLimit) throws(ConfigError) {
        self.config = config
        self.geometry = try config.checked()
        self.format = DescriptorFormat(stage: config.stage, granule: config.granule, nonSecure: config.nonSecure)
        self.strategy = strategy
        self.coherentWalk = config.coherentWalk || strategy.forcesCoherentWalk
        self.sink = sink
        self.memory = PhysicalMemory(base: tableMemoryBase, lineSize: config.lineSize, coherent: coherentWalk)
        self.allocator = TableAllocator(base: tableMemoryBase, limit: tableMemoryLimit)
        if blank { return }

        let call = beginCall(Call(kind: .allocTables))
        guard let rootID = allocateTable(level: geometry.startLevel, parent: nil, parentIndex: 0, iovaBase: 0) else {
            throw ConfigError(reason: "no table memory for the root")
        }
        root = rootID
        endCall(call, .allocTables, CallResult())
    }

    // MARK: - Events

    @inline(__always)
    func emit(_ payload: @autoclosure () -> EventPayload) {
        guard Sink.isEnabled else { return }
        seq &+= 1
        sink.record(Event(seq: seq, call: callStack.last ?? 0, payload: payload()))
    }

    /// Opens a call; returns a token for ``endCall``.
    @inline(__always)
    func beginCall(_ call: @autoclosure () -> Call) -> UInt64 {
        guard Sink.isEnabled else { return 0 }
        seq &+= 1
        if callStack.isEmpty { lastTopLevelCall = seq }
        sink.record(Event(seq: seq, call: callStack.last ?? 0, payload: .callBegin(call())))
        callStack.append(seq)
        return seq
    }

    @inline(__always)
    func endCall(_ token: UInt64, _ kind: CallKind, _ result: CallResult) {
        guard Sink.isEnabled else { return }
        callStack.removeLast()
        seq &+= 1
        sink.record(Event(seq: seq, call: token, payload: .callEnd(kind, result)))
    }

    /// A kernel WARN_ON(condition) that fired.
    @inline(__always)
    func warn(_ warning: Warning) {
        stats.warnings += 1
        emit(.warn(warning))
    }

    /// `WARN_ON(!(quirks & IO_PGTABLE_QUIRK_NO_WARN))`.
    @inline(__always)
    func warnUnlessQuiet(_ warning: Warning) {
        if !config.noWarn { warn(warning) }
    }

    // MARK: - Tables

    /// Id of the live table at `pa`, or -1.
    @inline(__always)
    public func tableID(at pa: UInt64) -> Int {
        let frame = Int(truncatingIfNeeded: (pa &- memory.base) >> 12)
        guard frame >= 0, frame < tableAtFrame.count else { return -1 }
        return Int(tableAtFrame[frame])
    }

    /// The live table a descriptor points at (`iopte_deref`).
    @inline(__always)
    func child(of pte: UInt64) -> Int { tableID(at: format.outputAddress(pte)) }

    /// Allocates and zeroes a table page; for a non-coherent walker the whole page
    /// is cleaned (the kernel maps it for DMA). Nil on -ENOMEM.
    func allocateTable(level: Int, parent: Int?, parentIndex: Int, iovaBase: UInt64) -> Int? {
        let bytes = level == geometry.startLevel ? geometry.rootBytes : geometry.granuleBytes
        let allocBytes = TableAllocator.allocationSize(forRequest: bytes)
        guard let pa = allocator.allocate(allocBytes) else { return nil }
        memory.grow(toBytes: pa + allocBytes - memory.base)
        let frames = Int((allocator.highWater - memory.base) >> 12)
        if tableAtFrame.count < frames {
            tableAtFrame.append(contentsOf: repeatElement(-1, count: max(frames, tableAtFrame.count * 2) - tableAtFrame.count))
        }
        let id = tables.count
        let info = TableInfo(id: id, pa: pa, bytes: bytes, allocBytes: allocBytes, level: level,
                             parent: parent, parentIndex: parentIndex, iovaBase: iovaBase)
        tables.append(info)
        let firstFrame = Int((pa - memory.base) >> 12)
        for f in firstFrame..<(firstFrame + Int(allocBytes >> 12)) { tableAtFrame[f] = Int32(id) }
        stats.tablesAllocated += 1
        emit(.tableAlloc(info))
        // The page allocator hands out zeroed memory: the CPU view is zero; the
        // memory view keeps what the page held until it is cleaned.
        memory.zeroCPU(from: pa, bytes: allocBytes)
        if !coherentWalk {
            let r = memory.clean(from: pa, bytes: bytes)
            stats.allocationCleans += 1
            stats.allocationCleanLines += r.lines
            emit(.clean(table: id, index: 0, count: Int(bytes / 8), firstLine: 0, lines: r.lines,
                        alreadyClean: r.alreadyClean, reason: .tableAllocation))
        }
        return id
    }

    /// Frees a table page (`__arm_lpae_free_pages`); its contents stay in memory.
    func freeTable(_ id: Int) {
        let info = tables[id]
        tables[id].freed = true
        let firstFrame = Int((info.pa - memory.base) >> 12)
        for f in firstFrame..<(firstFrame + Int(info.allocBytes >> 12)) { tableAtFrame[f] = -1 }
        allocator.free(info.pa, allocBytes: info.allocBytes)
        pending?.drop(table: id)
        stats.tablesFreed += 1
        emit(.tableFree(table: id))
    }

    // MARK: - Descriptors

    /// The CPU's value of entry `index` of table `id`.
    @inline(__always)
    public func entry(_ index: Int, of id: Int) -> UInt64 {
        memory.cpuValue(at: tables[id].pa &+ UInt64(index) &* 8)
    }

    /// The device's value of entry `index` of table `id`.
    @inline(__always)
    public func deviceEntry(_ index: Int, of id: Int) -> UInt64 {
        memory.deviceValue(at: tables[id].pa &+ UInt64(index) &* 8)
    }

    /// A CPU store of one descriptor.
    @inline(__always)
    func write(_ value: UInt64, table id: Int, index: Int, level: Int) {
        let pa = tables[id].pa &+ UInt64(index) &* 8
        let old = memory.store(value, at: pa)
        stats.descriptorWrites += 1
        if Sink.isEnabled {
            let iova = tables[id].iovaBase &+ UInt64(index) &* geometry.blockSize(level)
            emit(.write(table: id, index: index, level: level, iova: iova, old: old, new: value))
        }
    }

    /// `__arm_lpae_sync_pte`: cleans `count` descriptors from `index`.
    func syncEntries(table id: Int, index: Int, count: Int) {
        guard count > 0 else { return }
        let info = tables[id]
        let r = memory.clean(from: info.pa &+ UInt64(index) * 8, bytes: UInt64(count) * 8)
        stats.cleanCalls += 1
        stats.cleanLines += r.lines
        stats.cleanLinesAlreadyClean += r.alreadyClean
        if Sink.isEnabled {
            emit(.clean(table: id, index: index, count: count, firstLine: r.firstLine - memory.line(of: info.pa),
                        lines: r.lines, alreadyClean: r.alreadyClean, reason: .descriptors))
        }
    }

    /// Path of a table from the root as the conformance logs write it: `L0/3/L1/0/L2`.
    public func path(of id: Int) -> String {
        var parts: [String] = []
        var current: Int? = id
        while let c = current {
            let info = tables[c]
            parts.append("L\(info.level)")
            if info.parent != nil { parts.append("\(info.parentIndex)") }
            current = info.parent
        }
        return parts.reversed().joined(separator: "/")
    }

    /// Indices from the root down to the table: root index, then each child index.
    public func pathIndices(of id: Int) -> [Int] {
        var out: [Int] = []
        var current = id
        while let p = tables[current].parent {
            out.append(tables[current].parentIndex)
            current = p
        }
        return out.reversed()
    }

    /// Live tables in pre-order (parent before children, children by index): the dump order.
    public func liveTablesInOrder() -> [Int] { liveTablesInOrder(within: nil) }

    /// The same, of the tables whose IOVA span meets `window` (nil: all): the
    /// walk goes down only the entries that meet it, so a window costs the
    /// tables over it, not the whole tree.
    public func liveTablesInOrder(within window: ClosedRange<UInt64>?) -> [Int] {
        var out: [Int] = []
        func visit(_ id: Int) {
            out.append(id)
            let t = tables[id]
            guard t.level < Geometry.maxLevels - 1 else { return }
            var indices = 0..<t.entries
            if let window {
                let shift = UInt64(geometry.shift(t.level))
                let first = window.lowerBound <= t.iovaBase ? 0 : (window.lowerBound &- t.iovaBase) >> shift
                let last = (window.upperBound &- t.iovaBase) >> shift
                guard window.upperBound >= t.iovaBase, first < UInt64(t.entries) else { return }
                indices = Int(first)..<(Int(min(last, UInt64(t.entries) - 1)) + 1)
            }
            for i in indices {
                let pte = entry(i, of: id)
                if DescriptorFormat.isTable(pte, level: t.level) {
                    let c = child(of: pte)
                    if c >= 0 { visit(c) }
                }
            }
        }
        guard !isFreed && !tables.isEmpty else { return out }
        if let window {
            let t = tables[root]
            let end = t.iovaBase &+ (UInt64(t.entries) << UInt64(geometry.shift(t.level))) &- 1
            guard window.lowerBound <= end && window.upperBound >= t.iovaBase else { return out }
        }
        visit(root)
        return out
    }

    /// Dirty cache lines in live tables.
    public func dirtyLineCount() -> Int { syncState(ofTables: liveTablesInOrder()).dirtyLines }

    /// Number of descriptors in live tables the device cannot see as the CPU wrote them.
    public func staleEntryCount() -> Int { syncState(ofTables: liveTablesInOrder()).stale }

    /// Both of those for the tables `ids` (``liveTablesInOrder()``), in one
    /// pass over their words in address order.
    public func syncState(ofTables ids: [Int]) -> (dirtyLines: Int, stale: Int) {
        guard !coherentWalk else { return (0, 0) }
        var ranges = ids.map { id -> Range<Int> in
            let first = memory.wordIndex(tables[id].pa)
            return first..<(first + tables[id].entries)
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var counts = memory.dirtyLinesAndStaleWords(in: ranges)
        if !absentStale.isEmpty {
            for r in ranges where !r.isEmpty {
                for page in (r.lowerBound / PhysicalMemory.wordsPerPage)...((r.upperBound - 1) / PhysicalMemory.wordsPerPage) {
                    counts.stale += absentStale[page] ?? 0
                }
            }
        }
        return counts
    }

    /// The stale descriptors of each 4 KiB page of table memory in `pages`
    /// (ascending), as ``syncState(ofTables:)`` counts them (whole pages:
    /// words past a table's entries are never stale).
    public func staleWords(inPages pages: [Int]) -> [(page: Int, count: Int)] {
        guard !coherentWalk else { return [] }
        let words = Int((allocator.highWater - memory.base) / 8)
        return pages.compactMap { page in
            let lo = page * PhysicalMemory.wordsPerPage, hi = min(lo + PhysicalMemory.wordsPerPage, words)
            guard lo < hi else { return nil }
            return (page, memory.dirtyLinesAndStaleWords(in: [lo..<hi]).stale)
        }
    }

    /// Stale descriptors on pages of table memory a partial load left out
    /// (ReadScope.swift in PGStore), by page: their words read 0 in both
    /// views, so ``syncState(ofTables:)`` adds these counts, which the
    /// checkpoint kept, for the pages of the tables it is asked about.
    /// Nothing replayed after the load touches those pages.
    public internal(set) var absentStale: [Int: Int] = [:]

    public func setAbsentStale(_ counts: [Int: Int]) { absentStale = counts }
}
