import Testing
@testable import PGEngine
import PGSources

/// Reconstructing a state by replaying events gives exactly the live state.
@Suite("State replay")
struct ReplayTests {
    static let configs: [PageTableConfig] = [
        .default,
        PageTableConfig(stage: .two, granule: .size4K, ias: 40, oas: 40),
        PageTableConfig(stage: .one, granule: .size16K),
        PageTableConfig(granule: .size64K, coherentWalk: true),
    ]

    static func workload(_ geometry: Geometry, seed: UInt64) -> [Call] {
        var calls = Array(ChurnWorkload(operations: 150, seed: seed, geometry: geometry))
        var rng = SplitMix64(seed: seed)
        // Sprinkle device accesses and io-pgtable unmaps into the engine gather.
        for i in stride(from: 0, to: calls.count, by: 7) {
            let c = calls[i]
            calls.insert(Call(kind: .access, iova: c.iova, prot: rng.next() % 2 == 0 ? [.read] : [.write]), at: i + 1)
        }
        calls.append(Call(kind: .iotlbSync))
        return calls
    }

    @Test("replaying from nothing reaches every live state", arguments: 0..<configs.count, [Strategy.eager, .deferred, .batchedSG])
    func fromScratch(_ c: Int, _ strategy: Strategy) throws {
        let config = Self.configs[c]
        let live = try IOPageTable(config: config, strategy: strategy, sink: EventLog())
        var checkpoints: [EngineState] = [live.captureState()]
        for call in Self.workload(live.geometry, seed: UInt64(c + 1)) {
            live.perform(call)
            // An io-pgtable unmap into the engine's gather, left pending now and then.
            if call.kind == .iommuMap && call.size == live.geometry.minPageSize {
                live.unmapPages(iova: call.iova, pgsize: call.size, pgcount: 1)
            }
            checkpoints.append(live.captureState())
        }
        let events = live.sink.events
        let blank = try IOPageTable(config: config, strategy: strategy, sink: NullSink(), blank: true)
        var replayer = StateReplayer(engine: blank)
        var next = 0
        for checkpoint in checkpoints {
            while next < events.count && events[next].seq <= checkpoint.seq {
                replayer.apply(events[next])
                next += 1
            }
            let state = replayer.state()
            let differences = Self.differences(state, checkpoint)
            #expect(differences.isEmpty, "state differs at seq \(checkpoint.seq): \(differences)")
            if !differences.isEmpty { break }
        }
    }

    /// Names the parts of two states that differ (the states themselves are too big to print).
    static func differences(_ a: EngineState, _ b: EngineState) -> [String] {
        var out: [String] = []
        if a.seq != b.seq { out.append("seq \(a.seq) vs \(b.seq)") }
        if a.tables != b.tables { out.append("tables (\(a.tables.count) vs \(b.tables.count))") }
        if a.root != b.root || a.isFreed != b.isFreed { out.append("root/freed") }
        if a.allocatorNext != b.allocatorNext || a.freeLists != b.freeLists { out.append("allocator") }
        if a.cpu != b.cpu {
            let i = zip(a.cpu, b.cpu).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            out.append("cpu view (\(a.cpu.count) vs \(b.cpu.count) words, first difference at word \(i.map(String.init) ?? "end"))")
        }
        if a.memory != b.memory { out.append("memory view") }
        if a.dirty != b.dirty { out.append("dirty lines") }
        if a.tlbLeaves != b.tlbLeaves { out.append("TLB leaves (\(a.tlbLeaves.count) vs \(b.tlbLeaves.count))") }
        if a.tlbWalks != b.tlbWalks { out.append("TLB walks (\(a.tlbWalks.count) vs \(b.tlbWalks.count))") }
        if a.gather != b.gather { out.append("gather \(a.gather) vs \(b.gather)") }
        if a.warnedPartialUnmap != b.warnedPartialUnmap { out.append("warned") }
        if a.openCalls != b.openCalls { out.append("open calls") }
        return out
    }

    @Test("replaying from a mid-run state reaches the end state; a loaded state behaves like the original")
    func fromCheckpoint() throws {
        let live = try IOPageTable(config: .default, strategy: .eager, sink: EventLog())
        let calls = Self.workload(live.geometry, seed: 9)
        for call in calls.prefix(calls.count / 2) { live.perform(call) }
        let middle = live.captureState()
        let firstHalf = live.sink.events.count
        for call in calls.dropFirst(calls.count / 2) { live.perform(call) }

        let resumed = try IOPageTable(config: .default, strategy: .eager, state: middle, sink: NullSink())
        var replayer = StateReplayer(engine: resumed)
        for e in live.sink.events.dropFirst(firstHalf) { replayer.apply(e) }
        #expect(Self.differences(replayer.state(), live.captureState()).isEmpty)

        // Continue from the middle with the engine: the same events, seq for seq.
        let continued = try IOPageTable(config: .default, strategy: .eager, state: middle, sink: EventLog())
        for call in calls.dropFirst(calls.count / 2) { continued.perform(call) }
        #expect(continued.sink.events == Array(live.sink.events.dropFirst(firstHalf)))
    }
}
