/// Everything that makes one moment of an engine: the tables, both views of
/// their memory and the dirty lines, the allocator, the TLB and the gather.
/// A checkpoint is one of these; so is the start of a restored run.
public struct EngineState: Sendable, Equatable {
    public var seq: UInt64
    public var tables: [TableInfo]
    public var root: Int
    public var isFreed: Bool
    public var allocatorNext: UInt64
    public var freeLists: [UInt64: [UInt64]]
    /// Words of table memory from the allocator's base, up to its high-water mark.
    public var cpu: [UInt64]
    public var memory: [UInt64]
    /// One bit per cache line.
    public var dirty: [UInt64]
    public var tlbLeaves: [UInt64: TLB.Leaf]
    public var tlbWalks: [UInt64: UInt64]
    public var gather: Gather
    public var warnedPartialUnmap: Bool
    /// Calls in progress at this moment (outermost first): their begin seq and kind.
    public var openCalls: [OpenCall]

    public struct OpenCall: Sendable, Equatable {
        public var seq: UInt64
        public var kind: CallKind
        public init(seq: UInt64, kind: CallKind) {
            self.seq = seq
            self.kind = kind
        }
    }

    /// No tables and no table memory: what a decode fills in.
    public static var empty: EngineState {
        EngineState(seq: 0, tables: [], root: 0, isFreed: false, allocatorNext: 0, freeLists: [:],
                    cpu: [], memory: [], dirty: [], tlbLeaves: [:], tlbWalks: [:], gather: Gather(),
                    warnedPartialUnmap: false, openCalls: [])
    }

    /// True between calls: a state a run can be restored from.
    public var isBetweenCalls: Bool { openCalls.isEmpty }

    /// The state as a whole-state checkpoint keeps it: each freed table's
    /// record replaced by its tombstone. Two states with the same live
    /// tables, memory, TLB and allocator are equal in this form.
    public var forgettingFreedTables: EngineState {
        var s = self
        for i in s.tables.indices where s.tables[i].freed { s.tables[i] = .tombstone(id: i) }
        return s
    }
}

extension EngineState {
    /// Becomes `shared` (``IOPageTable/sharedState(openCalls:)``), given that
    /// its table memory differs from this state's only in the words of
    /// `ranges` (``PhysicalMemory/wordRanges(ofPages:below:)``): those are
    /// copied in place, the small parts whole. A checkpoint's base
    /// then follows the engine at the cost of what changed.
    public mutating func take(_ ranges: [Range<Int>], of shared: EngineState, extent: StateExtent) {
        cpu.resize(to: extent.words)
        if extent.memory {
            memory.resize(to: extent.words)
        } else {
            memory = []
        }
        for r in ranges {
            cpu.replaceSubrange(r, with: shared.cpu[r])
            if extent.memory { memory.replaceSubrange(r, with: shared.memory[r]) }
        }
        dirty = extent.memory ? Array(shared.dirty.prefix(extent.dirtyWords)) : []
        seq = shared.seq
        tables = shared.tables
        root = shared.root
        isFreed = shared.isFreed
        allocatorNext = shared.allocatorNext
        freeLists = shared.freeLists
        tlbLeaves = shared.tlbLeaves
        tlbWalks = shared.tlbWalks
        gather = shared.gather
        warnedPartialUnmap = shared.warnedPartialUnmap
        openCalls = shared.openCalls
    }
}

extension EngineState {
    /// Makes room for `words` words of table memory in each view, so a
    /// chain of deltas, or a replay, that grows the state to that size
    /// appends in place instead of reallocating, copying and faulting in
    /// its arrays at each doubling.
    public mutating func reserveCapacity(words: Int) {
        cpu.reserveTableMemory(words)
        if !memory.isEmpty {
            memory.reserveTableMemory(words)
            dirty.reserveCapacity((words / 8 + 63) / 64)
        }
    }
}

extension EngineState {
    /// Zero table memory of `words` words in each view (`memory`: whether
    /// there is a memory view), in storage for `capacity`, for a decode that
    /// writes only part of it (``StateCodec/decode(_:selecting:into:)``):
    /// the words it does not write are never faulted in, and the storage is
    /// in small pages, so each word written faults in 4 KiB, not 2 MiB.
    public mutating func makeTableMemory(words: Int, capacity: Int, memory hasMemory: Bool) {
        cpu = [UInt64](tableMemory: [], count: words, capacity: capacity, sparse: true)
        memory = hasMemory ? [UInt64](tableMemory: [], count: words, capacity: capacity, sparse: true) : []
    }

    /// Cuts (or grows with zeros) each view to `words` words.
    public mutating func resizeTableMemory(words: Int) {
        cpu.resize(to: words)
        if !memory.isEmpty { memory.resize(to: words) }
    }
}

/// How much of a shared state's arrays is the state (``IOPageTable/sharedState(openCalls:)``).
public struct StateExtent: Sendable, Equatable {
    /// Words of table memory in each view, and words of dirty bits.
    public var words: Int
    public var dirtyWords: Int
    /// False when the walk is coherent: no memory view and no dirty bits.
    public var memory: Bool

    /// The extent of a state whose arrays end where it does.
    public init(of s: EngineState) {
        self.init(words: s.cpu.count, dirtyWords: s.dirty.count, memory: !s.memory.isEmpty)
    }

    public init(words: Int, dirtyWords: Int, memory: Bool) {
        self.words = words
        self.dirtyWords = dirtyWords
        self.memory = memory
    }
}

extension IOPageTable {
    /// The engine's state now.
    public func captureState(openCalls: [EngineState.OpenCall] = []) -> EngineState {
        let words = Int((allocator.highWater - memory.base) / 8)
        let lines = words / max(1, config.lineSize / 8)
        return EngineState(
            seq: seq, tables: tables, root: root, isFreed: isFreed,
            allocatorNext: allocator.highWater, freeLists: allocator.freeListsSnapshot,
            cpu: Array(memory.cpu.prefix(words)),
            memory: coherentWalk ? [] : Array(memory.memory.prefix(words)),
            dirty: coherentWalk ? [] : Array(memory.dirty.prefix((lines + 63) / 64)),
            tlbLeaves: tlb.leaves, tlbWalks: tlb.walks, gather: gather,
            warnedPartialUnmap: warnedPartialUnmap, openCalls: openCalls)
    }

    /// The state now without copying table memory: its `cpu`, `memory` and
    /// `dirty` are the engine's own arrays, which run past the state's ends;
    /// the extent says where those are. Only for reading, before the engine
    /// next changes (a change then copies the engine's arrays).
    public func sharedState(openCalls: [EngineState.OpenCall] = []) -> (state: EngineState, extent: StateExtent) {
        let words = Int((allocator.highWater - memory.base) / 8)
        let lines = words / max(1, config.lineSize / 8)
        let state = EngineState(
            seq: seq, tables: tables, root: root, isFreed: isFreed,
            allocatorNext: allocator.highWater, freeLists: allocator.freeListsSnapshot,
            cpu: memory.cpu, memory: coherentWalk ? [] : memory.memory, dirty: coherentWalk ? [] : memory.dirty,
            tlbLeaves: tlb.leaves, tlbWalks: tlb.walks, gather: gather,
            warnedPartialUnmap: warnedPartialUnmap, openCalls: openCalls)
        return (state, StateExtent(words: words, dirtyWords: coherentWalk ? 0 : (lines + 63) / 64, memory: !coherentWalk))
    }

    /// The 4 KiB pages of table memory changed since ``clearTouchedPages()``
    /// (or since the engine was made or loaded), ascending.
    public var touchedPages: [Int] { memory.touchedPages }

    public func clearTouchedPages() { memory.clearTouched() }

    /// An engine in `state` (a checkpoint or a restored point), with its sink.
    /// Sequence numbers continue from the state's.
    public convenience init(config: PageTableConfig, strategy: Strategy, state: EngineState, sink: Sink) throws(ConfigError) {
        try self.init(config: config, strategy: strategy, sink: sink, blank: true)
        load(state)
    }

    /// Replaces this engine's state.
    public func load(_ state: EngineState) {
        seq = state.seq
        tables = state.tables
        root = state.root
        isFreed = state.isFreed
        allocator = TableAllocator(base: allocator.base, limit: allocator.limit, next: state.allocatorNext, freeLists: state.freeLists)
        memory.load(cpu: state.cpu, memory: state.memory, dirty: state.dirty)
        tableAtFrame = []
        rebuildFrameMap()
        tlb.leaves = state.tlbLeaves
        tlb.walks = state.tlbWalks
        gather = state.gather
        warnedPartialUnmap = state.warnedPartialUnmap
        callStack = []
        pending = nil
        absentStale = [:]
    }

    func rebuildFrameMap() {
        let frames = Int((allocator.highWater - memory.base) >> 12)
        tableAtFrame = Array(repeating: -1, count: max(frames, 1))
        for t in tables where !t.freed {
            let first = Int((t.pa - memory.base) >> 12)
            for f in first..<(first + Int(t.allocBytes >> 12)) { tableAtFrame[f] = Int32(t.id) }
        }
    }
}

extension IOPageTable {
    /// Sets the sequence number (a reconstructed point may lie after events that changed nothing).
    public func setSeq(_ value: UInt64) { seq = value }
}
