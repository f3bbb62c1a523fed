import PGEngine

/// A page table whose io-pgtable calls run in the kernel's own
/// io-pgtable-arm.c (through a ``KernelHelper``) and whose cache, TLB and
/// device stay pgstore's: the kernel's descriptor writes, cleans, allocations,
/// frees, flush callbacks and WARNs become the same ``Event``s the engine
/// emits, applied as they come to a blank engine (`model`) that holds the CPU
/// view, the memory view and the TLB.
public final class KernelPageTable<Sink: EventSink>: PageTableBackend {
    public typealias Failure = KernelError

    public let tree: KernelTree
    public let config: PageTableConfig
    public let deferSyncPTE: Bool
    public var sink: Sink
    /// pgstore's model of memory, cache and TLB, fed with the kernel's events.
    public let model: IOPageTable<NullSink>
    /// The state the kernel's events built (``PageTableBackend``): `model`.
    public var state: IOPageTable<NullSink> { model }
    public private(set) var geometry: KernelGeometry
    public internal(set) var stats = EngineStats()
    /// Every WARN the kernel hit: the event's sequence number, its site and condition.
    public private(set) var warnSites: [(seq: UInt64, site: String, condition: String)] = []
    public private(set) var seq: UInt64 = 0
    public private(set) var lastTopLevelCall: UInt64 = 0
    public private(set) var isFreed = false

    private let helper: KernelHelper
    private var replayer: StateReplayer<NullSink>
    private var callStack: [UInt64] = []

    /// `kernel 6.12.118`, with `+defer_sync_pte` when set.
    public var strategyName: String { tree.displayName + (deferSyncPTE ? "+defer_sync_pte" : "") }

    /// Starts a helper and allocates the tables (`alloc_io_pgtable_ops`), as the engine's init does.
    public init(helper: KernelHelper, config: PageTableConfig, deferSyncPTE: Bool = false, sink: Sink) throws(KernelError) {
        let tree = helper.binary.tree
        if deferSyncPTE && !tree.hasDeferSyncPTE {
            throw .unsupported(feature: "cfg.defer_sync_pte (the seed's patch is not applied)", version: tree.version)
        }
        if config.noWarn && !tree.hasNoWarnQuirk {
            throw .unsupported(feature: "IO_PGTABLE_QUIRK_NO_WARN", version: tree.version)
        }
        // The model's geometry follows config.profile, which callers set to the
        // tree's (KernelTree.profile: 6.12 concatenates stage-2 roots where
        // mainline does not). Where that profile refuses a configuration a
        // tree may still take (6.1 concatenates as 6.12 does), another profile's
        // geometry is tried; the kernel's own geometry is checked against it below.
        var model: IOPageTable<NullSink>?
        var refusal: ConfigError?
        for profile in [config.profile] + KernelProfile.allCases.filter({ $0 != config.profile }) {
            var c = config
            c.profile = profile
            do {
                model = try IOPageTable(config: c, strategy: .eager, sink: NullSink(), blank: true)
                break
            } catch {
                refusal = refusal ?? error
            }
        }
        guard let model else { throw .stepRefused(step: "alloc", reason: refusal?.reason ?? "configuration refused") }
        self.tree = tree
        self.config = config
        self.deferSyncPTE = deferSyncPTE
        self.sink = sink
        self.helper = helper
        self.model = model
        self.replayer = StateReplayer(engine: model)
        self.geometry = KernelGeometry.unknown
        var quirks: [String] = []
        if config.nonSecure { quirks.append("ns") }
        if config.noWarn { quirks.append("no_warn") }
        let step = "alloc stage=\(config.stage == .one ? 1 : 2) pgsize_bitmap=0x\(String(model.geometry.pgsizeBitmap, radix: 16))"
            + " ias=\(config.ias) oas=\(config.oas) coherent_walk=\(config.coherentWalk ? 1 : 0)"
            + " quirks=\(quirks.isEmpty ? "none" : quirks.joined(separator: ","))"
            + (tree.hasDeferSyncPTE ? " defer_sync_pte=\(deferSyncPTE ? 1 : 0)" : "")
            + " base=0x\(String(TableAllocator.defaultBase, radix: 16)) limit=0x\(String(TableAllocator.defaultLimit, radix: 16))"
        let lines = try helper.step(step)
        for case .geometry(let g) in lines { geometry = g }
        _ = try apply(lines, to: Call(kind: .allocTables)) { _, _ in CallResult() }
        model.setSeq(seq)
        if geometry == .unknown { throw .configurationRefused(ret: lastRet, version: tree.version) }
        if geometry.startLevel != model.geometry.startLevel || geometry.pgdBits != model.geometry.pgdBits {
            throw .stepRefused(step: "alloc", reason: "kernel \(tree.version) starts its walk at level \(geometry.startLevel) with "
                               + "\(1 << geometry.pgdBits) root entries, which no profile of pgstore's model does for this configuration")
        }
    }

    private var lastRet: Int64 = 0

    /// Ends the helper and reaps it (``KernelHelper/stop()``): the process is
    /// about to exit inside a call.
    public func stop() { helper.stop() }

    /// Runs one call: the io-pgtable calls in the kernel, the IOMMU core calls
    /// through ``IommuCore`` over them, `tlb_sync` and `access` in pgstore's model.
    public func run(_ call: Call) throws(KernelError) -> CallResult {
        // The model applies only what changes state; between calls its seq is the backend's.
        defer { model.setSeq(seq) }
        switch call.kind {
        case .mapPages:
            return try kernelCall(call, "map 0x\(hex(call.iova)) 0x\(hex(call.paddr)) 0x\(hex(call.size)) \(call.count) \(call.prot.iommuBits)") {
                CallResult(ret: $0, value: $1)
            }
        case .unmapPages:
            let gather = model.gather.queued ? "queued" : "normal"
            return try kernelCall(call, "unmap 0x\(hex(call.iova)) 0x\(hex(call.size)) \(call.count) \(gather)") {
                CallResult(ret: $0, value: $1)
            }
        case .iovaToPhys:
            return try kernelCall(call, "iova_to_phys 0x\(hex(call.iova))") { CallResult(ret: $0, value: $1) }
        case .iotlbSyncMap:
            guard tree.hasSyncMap else { return modelCall(call) { _ in CallResult() } }
            return try kernelCall(call, "sync_map 0x\(hex(call.iova)) 0x\(hex(call.size))") { ret, _ in CallResult(ret: ret) }
        case .freeTables:
            if isFreed { return modelCall(call) { _ in CallResult() } }
            let r = try kernelCall(call, "free") { _, _ in CallResult() }
            isFreed = true
            return r
        case .iotlbSync:
            return modelCall(call) { t in t.syncGather(); return CallResult() }
        case .access:
            return modelCall(call) { t in
                let r = t.model.access(iova: call.iova, write: call.prot.contains(.write), privileged: call.prot.contains(.priv))
                t.stats.accesses += 1
                if r.staleRead { t.stats.staleReads += 1 }
                if r.staleTLB { t.stats.staleTLBHits += 1 }
                t.emit(.access(r))
                return CallResult(ret: r.outcome == .translated ? 0 : -Errno.EFAULT, value: r.pa)
            }
        case .iommuMap:
            return try IommuCore(self).map(iova: call.iova, paddr: call.paddr, size: call.size, prot: call.prot)
        case .iommuMapSG:
            return try IommuCore(self).mapSG(iova: call.iova, segments: call.segments, prot: call.prot)
        case .iommuUnmap:
            return try IommuCore(self).unmap(iova: call.iova, size: call.size)
        case .allocTables:
            throw .notAnIOPgtableCall(call.kind.rawValue)
        }
    }

    // MARK: - Calls

    func kernelCall(_ call: Call, _ step: String,
                            _ result: (Int64, UInt64) -> CallResult) throws(KernelError) -> CallResult {
        let lines = try helper.step(step)
        return try apply(lines, to: call) { ret, value in result(ret, value) }
    }

    private func modelCall(_ call: Call, _ body: (KernelPageTable) -> CallResult) -> CallResult {
        let token = beginCall(call)
        let r = body(self)
        endCall(token, call.kind, r)
        return r
    }

    /// Turns one step's lines into events, in the kernel's order.
    private func apply(_ lines: [HelperLine], to call: Call,
                       resultOf: (Int64, UInt64) -> CallResult) throws(KernelError) -> CallResult {
        var placement = TablePlacement(geometry: geometry, known: model.tables)
        try placement.scan(lines, isAlloc: call.kind == .allocTables)
        let token = beginCall(call)
        for line in lines {
            switch line {
            case .result(let ret, let value):
                lastRet = ret
                let r = resultOf(ret, value)
                endCall(token, call.kind, r)
                return r
            case .bug(let site, let condition):
                throw .kernelBug(site: site, condition: condition)
            default:
                try event(line, call: call, placement: placement)
            }
        }
        throw .helperCrashed(status: "a step ended without its result line", stderr: "")
    }

    private func event(_ line: HelperLine, call: Call, placement: TablePlacement) throws(KernelError) {
        switch line {
        case .alloc(let id, let pa, let allocBytes):
            guard let p = placement.placed[id] else { throw .unplacedTable(id: id) }
            let info = TableInfo(id: id, pa: pa, bytes: geometry.tableBytes(p.level), allocBytes: allocBytes, level: p.level,
                                 parent: p.parent, parentIndex: p.parentIndex, iovaBase: p.iovaBase)
            stats.tablesAllocated += 1
            emit(.tableAlloc(info))
        case .dmaMap(let id, let size):
            clean(table: id, index: 0, count: Int(size / 8), reason: .tableAllocation)
        case .sync(let id, let index, let count):
            clean(table: id, index: index, count: count, reason: .descriptors)
        case .write(let id, let index, let old, let new):
            let t = model.tables[id]
            stats.descriptorWrites += 1
            emit(.write(table: id, index: index, level: t.level,
                        iova: t.iovaBase &+ UInt64(index) &* geometry.blockSize(t.level), old: old, new: new))
        case .free(let id):
            stats.tablesFreed += 1
            emit(.tableFree(table: id))
        case .dmaUnmap:
            break   // the engine records the free; the unmap before it changes nothing it models
        case .flushAll:
            stats.flushAll += 1
            emit(.invalidate(kind: .all, iova: 0, size: 0, granule: 0))
            model.tlbFlushAll()
        case .flushWalk(let iova, let size, let granule):
            stats.flushWalk += 1
            emit(.invalidate(kind: .walk, iova: iova, size: size, granule: granule))
            model.tlbFlushWalk(iova: iova, size: size, granule: granule)
        case .addPage(let iova, let granule):
            addPage(iova: iova, granule: granule)
        case .warn(let site, let condition):
            guard let w = KernelWarnings.warning(site: site, condition: condition, call: call) else {
                throw .unknownWarning(site: site, condition: condition)
            }
            stats.warnings += 1
            emit(.warn(w))
            warnSites.append((seq, site, condition))
        case .geometry, .result, .bug, .refused:
            break
        }
    }

    // MARK: - pgstore's side: cache and gather

    private func clean(table id: Int, index: Int, count: Int, reason: CleanReason) {
        guard count > 0 else { return }
        let t = model.tables[id]
        let first = model.memory.line(of: t.pa &+ UInt64(index) &* 8)
        let last = model.memory.line(of: t.pa &+ UInt64(index + count) &* 8 &- 1)
        var alreadyClean = 0
        for l in first...last where !model.memory.isDirty(line: l) { alreadyClean += 1 }
        let lines = last - first + 1
        if reason == .tableAllocation {
            stats.allocationCleans += 1
            stats.allocationCleanLines += lines
        } else {
            stats.cleanCalls += 1
            stats.cleanLines += lines
            stats.cleanLinesAlreadyClean += alreadyClean
        }
        let firstLine = reason == .tableAllocation ? 0 : first - model.memory.line(of: t.pa)
        emit(.clean(table: id, index: index, count: count, firstLine: firstLine, lines: lines,
                    alreadyClean: alreadyClean, reason: reason))
    }

    /// `tlb_add_page` as the SMMUv3 driver answers it, by pgstore's gather.
    private func addPage(iova: UInt64, granule: UInt64) {
        stats.addPage += 1
        emit(.addPage(iova: iova, granule: granule))
        var g = model.gather
        let before = g, invalidations = model.stats.leafInvalidations
        model.tlbAddPage(&g, iova: iova, granule: granule)
        model.gather = g
        if model.stats.leafInvalidations != invalidations { emitLeaf(before) }
    }

    /// `iotlb_sync` of the gather: one leaf range invalidation, then an empty gather.
    private func syncGather() {
        let before = model.gather
        model.iotlbSync()
        if before.pgsize != 0 { emitLeaf(before) }
    }

    func emitLeaf(_ g: Gather) {
        stats.leafInvalidations += 1
        // The model has invalidated its TLB already; only the event is left.
        let event = EventPayload.invalidate(kind: .leaf, iova: g.start, size: g.end &- g.start &+ 1, granule: g.pgsize)
        emitWithoutApplying(event)
    }

    // MARK: - Events

    func emit(_ payload: EventPayload) {
        seq &+= 1
        let event = Event(seq: seq, call: callStack.last ?? 0, payload: payload)
        switch payload {
        case .write, .clean, .tableAlloc, .tableFree: replayer.apply(event)
        default: break
        }
        if Sink.isEnabled { sink.record(event) }
    }

    private func emitWithoutApplying(_ payload: EventPayload) {
        seq &+= 1
        if Sink.isEnabled { sink.record(Event(seq: seq, call: callStack.last ?? 0, payload: payload)) }
    }

    func beginCall(_ call: Call) -> UInt64 {
        seq &+= 1
        if Sink.isEnabled { sink.record(Event(seq: seq, call: callStack.last ?? 0, payload: .callBegin(call))) }
        if callStack.isEmpty { lastTopLevelCall = seq }
        callStack.append(seq)
        return seq
    }

    func endCall(_ token: UInt64, _ kind: CallKind, _ result: CallResult) {
        callStack.removeLast()
        seq &+= 1
        if Sink.isEnabled { sink.record(Event(seq: seq, call: token, payload: .callEnd(kind, result))) }
    }
}

func hex(_ v: UInt64) -> String { String(v, radix: 16) }

extension Prot {
    /// The kernel's IOMMU_* bits: pgstore's Prot uses the same bit for each.
    var iommuBits: Int { Int(rawValue) }
}
