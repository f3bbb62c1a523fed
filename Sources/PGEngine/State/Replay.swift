/// Re-applies recorded events to an engine's state: how a point of a history is
/// reconstructed from the checkpoint before it. Every state change is an
/// event, so applying a run's events in order, from a state taken at some
/// sequence number, gives the state at any later one.
///
/// Device accesses are replayed by repeating the device's walk (its TLB fills
/// depend only on the state), and the engine-level gather follows the
/// `tlb_add_page` callbacks of top-level io-pgtable unmaps.
public struct StateReplayer<Sink: EventSink> {
    public let engine: IOPageTable<Sink>
    /// Calls in progress, outermost first.
    public private(set) var openCalls: [EngineState.OpenCall]

    public init(engine: IOPageTable<Sink>, openCalls: [EngineState.OpenCall] = []) {
        self.engine = engine
        self.openCalls = openCalls
    }

    /// Whether gather callbacks now go to the engine's own gather (a top-level
    /// io-pgtable unmap or tlb_sync) rather than to a core call's local one.
    private var gathersIntoEngine: Bool {
        guard let outer = openCalls.first else { return false }
        return outer.kind == .unmapPages || outer.kind == .iotlbSync
    }

    public mutating func apply(_ event: Event) {
        let e = engine
        e.seq = event.seq
        switch event.payload {
        case .callBegin(let call):
            openCalls.append(.init(seq: event.seq, kind: call.kind))
            if openCalls.count == 1 { e.lastTopLevelCall = event.seq }
        case .callEnd(let kind, _):
            if !openCalls.isEmpty { openCalls.removeLast() }
            if kind == .freeTables { e.isFreed = true }
        case .write(let table, let index, _, _, _, let new):
            _ = e.memory.store(new, at: e.tables[table].pa &+ UInt64(index) &* 8)
        case .clean(let table, let index, let count, _, _, _, _):
            let t = e.tables[table]
            e.memory.clean(from: t.pa &+ UInt64(index) &* 8, bytes: UInt64(count) * 8)
        case .invalidate(let kind, let iova, let size, _):
            switch kind {
            case .all: e.tlb.invalidateAll()
            case .walk: e.tlb.invalidate(iova: iova, size: size, leafOnly: false, geometry: e.geometry)
            case .leaf:
                e.tlb.invalidate(iova: iova, size: size, leafOnly: true, geometry: e.geometry)
                // An explicit tlb_sync empties the engine's gather. (The sync an
                // add_page forces comes after its add_page event, which already
                // restarted the gather with the new page.)
                if openCalls.first?.kind == .iotlbSync { e.gather.reset() }
            }
        case .addPage(let iova, let granule):
            if gathersIntoEngine {
                if (e.gather.pgsize != 0 && e.gather.pgsize != granule) || e.gather.isDisjoint(iova: iova, size: granule) {
                    e.gather.reset()
                }
                e.gather.pgsize = granule
                e.gather.addRange(iova: iova, size: granule)
            }
        case .tableAlloc(let info):
            e.allocator.claim(info.pa, allocBytes: info.allocBytes)
            e.memory.grow(toBytes: info.pa + info.allocBytes - e.memory.base)
            precondition(info.id == e.tables.count, "table ids must replay in order")
            e.tables.append(info)
            if e.tables.count == 1 { e.root = info.id }
            let frames = Int((e.allocator.highWater - e.memory.base) >> 12)
            if e.tableAtFrame.count < frames {
                e.tableAtFrame.append(contentsOf: repeatElement(-1, count: frames - e.tableAtFrame.count))
            }
            let first = Int((info.pa - e.memory.base) >> 12)
            for f in first..<(first + Int(info.allocBytes >> 12)) { e.tableAtFrame[f] = Int32(info.id) }
            e.memory.zeroCPU(from: info.pa, bytes: info.allocBytes)
        case .tableFree(let table):
            let info = e.tables[table]
            e.tables[table].freed = true
            let first = Int((info.pa - e.memory.base) >> 12)
            for f in first..<(first + Int(info.allocBytes >> 12)) { e.tableAtFrame[f] = -1 }
            e.allocator.free(info.pa, allocBytes: info.allocBytes)
        case .access(let a):
            e.replayAccess(iova: a.iova, write: a.write)
        case .warn(let w):
            if w == .unmapPartialBlock { e.warnedPartialUnmap = true }
        }
    }

    /// The state now.
    public func state() -> EngineState { engine.captureState(openCalls: openCalls) }
}
