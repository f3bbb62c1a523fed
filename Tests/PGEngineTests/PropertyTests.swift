import Testing
@testable import PGEngine
import PGSources

/// Seeded random workloads across stages, granules and address sizes.
@Suite("Properties on random workloads")
struct PropertyTests {
    struct Setup: CustomTestStringConvertible, Sendable {
        var stage: Stage, granule: Granule, ias: Int, oas: Int
        var config: PageTableConfig { PageTableConfig(stage: stage, granule: granule, ias: ias, oas: oas) }
        var testDescription: String { "S\(stage.rawValue) \(granule) ias=\(ias) oas=\(oas)" }
    }

    static let setups: [Setup] = [
        Setup(stage: .one, granule: .size4K, ias: 48, oas: 48),
        Setup(stage: .one, granule: .size4K, ias: 36, oas: 40),
        Setup(stage: .two, granule: .size4K, ias: 40, oas: 40),    // concatenated root
        Setup(stage: .two, granule: .size4K, ias: 42, oas: 42),    // 8 concatenated tables
        Setup(stage: .one, granule: .size16K, ias: 48, oas: 48),   // 2-entry root
        Setup(stage: .two, granule: .size16K, ias: 48, oas: 48),   // concatenated root
        Setup(stage: .one, granule: .size64K, ias: 48, oas: 48),
        Setup(stage: .two, granule: .size64K, ias: 42, oas: 44),
        Setup(stage: .one, granule: .size64K, ias: 52, oas: 52),   // 52-bit, 4T blocks
    ]

    static let safeStrategies: [Strategy] = [.eager, .deferredFixed, .batchedSG, .coherent]

    /// The pages a successful core call mapped, as (IOVA page -> PA).
    static func pages(of call: Call, pageSize: UInt64) -> [(UInt64, UInt64)] {
        switch call.kind {
        case .iommuMap:
            return stride(from: 0, to: call.size, by: Int(pageSize)).map { (call.iova + $0, call.paddr + $0) }
        case .iommuMapSG:
            var out: [(UInt64, UInt64)] = []
            var iova = call.iova
            for s in call.segments {
                for off in stride(from: 0, to: s.length, by: Int(pageSize)) {
                    out.append((iova + off, s.paddr + off))
                }
                iova += s.length
            }
            return out
        default:
            return []
        }
    }

    @Test("iova_to_phys agrees with a dictionary; nothing mapped is stale when a map returns",
          arguments: setups, safeStrategies)
    func translationsAndStaleness(_ setup: Setup, _ strategy: Strategy) throws {
        let engine = try IOPageTable(config: setup.config, strategy: strategy, sink: NullSink())
        let workload = ChurnWorkload(operations: 250, seed: 7, geometry: engine.geometry)
        let page = engine.geometry.minPageSize
        var model: [UInt64: UInt64] = [:]
        var rng = SplitMix64(seed: 99)
        for call in workload {
            let result = engine.perform(call)
            try #require(result.ret == 0, "\(call.kind) at \(hex(call.iova)) failed: \(Errno.name(result.ret))")
            switch call.kind {
            case .iommuMap, .iommuMapSG:
                for (iova, pa) in Self.pages(of: call, pageSize: page) { model[iova] = pa }
                let stale = engine.staleEntries(iova: call.iova, size: result.value)
                try #require(stale.isEmpty, "\(strategy): \(stale.count) stale after \(call.kind) at \(hex(call.iova))")
            case .iommuUnmap:
                #expect(result.value == call.size)
                var iova = call.iova
                while iova < call.iova + call.size {
                    model[iova] = nil
                    iova += page
                }
            default: break
            }
            // Probe a few mapped pages and a few random addresses.
            if let (iova, pa) = model.randomElement(using: &rng) {
                let offset = rng.next() % page
                #expect(engine.iovaToPhys(iova + offset).value == pa + offset)
            }
            let probe = (rng.next() % UInt64(workload.slots)) * workload.slotSize + (rng.next() % workload.slotSize) & ~(page - 1)
            #expect(engine.iovaToPhys(probe).value == (model[probe] ?? 0))
        }
        // Everything the model holds translates.
        for (iova, pa) in model { #expect(engine.iovaToPhys(iova).value == pa) }
    }

    @Test("iova_to_phys(iova) equals iova_to_phys(iova & (2^IAS - 1)) for every mapped IOVA", arguments: setups)
    func aliasesAboveIAS(_ setup: Setup) throws {
        let engine = try IOPageTable(config: setup.config, sink: NullSink())
        let workload = Array(ChurnWorkload(operations: 250, seed: 11, geometry: engine.geometry))
        let page = engine.geometry.minPageSize
        let ias = UInt64(engine.geometry.ias)
        let inputMask: UInt64 = (1 << ias) - 1
        var mapped: [UInt64: UInt64] = [:]
        var rng = SplitMix64(seed: 5)
        var probes = 0, step = 0
        var mismatches: [String] = []
        for call in workload {
            let result = engine.perform(call)
            try #require(result.ret == 0, "\(call.kind) at \(hex(call.iova)) failed: \(Errno.name(result.ret))")
            switch call.kind {
            case .iommuMap, .iommuMapSG:
                for (iova, pa) in Self.pages(of: call, pageSize: page) { mapped[iova] = pa }
            case .iommuUnmap:
                for iova in stride(from: call.iova, to: call.iova + call.size, by: Int(page)) { mapped[iova] = nil }
            default: break
            }
            // Every mapped page, at a random offset, with random bits above the
            // IAS: after every 25th call and after the last.
            guard step % 25 == 24 || step == workload.count - 1 else { step += 1; continue }
            step += 1
            for (iova, pa) in mapped {
                let low = iova + rng.next() % page
                let high = (rng.next() | 1) << ias     // at least one bit at or above the IAS
                let aliased = low | high
                let above = engine.iovaToPhys(aliased).value
                if above != engine.iovaToPhys(aliased & inputMask).value || above != pa + (low - iova) {
                    mismatches.append("\(hex(aliased)) -> \(hex(above)), expected \(hex(pa + (low - iova)))")
                }
                probes += 1
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(probes > 1000)
    }

    @Test("batched-sg never cleans more lines than eager", arguments: 0..<6)
    func batchedNeverWorse(_ seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let setup = Self.setups[seed % Self.setups.count]
        for _ in 0..<4 {
            let sg = ScatterGatherWorkload(pages: 1 + Int(rng.next() % 3000),
                                           placement: rng.next() % 2 == 0 ? .random : .contiguous,
                                           seed: rng.next(), iova: 0x4000_0000,
                                           pageSize: setup.granule.bytes)
            var lines: [Strategy: Int] = [:]
            for strategy in [Strategy.eager, .batchedSG] {
                let engine = try IOPageTable(config: setup.config, strategy: strategy, sink: NullSink())
                try #require(engine.perform(sg.call).ret == 0)
                lines[strategy] = engine.stats.cleanLines
            }
            #expect(lines[.batchedSG]! <= lines[.eager]!, "\(sg.pages) pages: \(lines)")
        }
        // And over churn.
        var lines: [Strategy: Int] = [:]
        for strategy in [Strategy.eager, .batchedSG] {
            let engine = try IOPageTable(config: setup.config, strategy: strategy, sink: NullSink())
            for call in ChurnWorkload(operations: 300, seed: UInt64(seed), geometry: engine.geometry) { engine.perform(call) }
            lines[strategy] = engine.stats.cleanLines
        }
        #expect(lines[.batchedSG]! <= lines[.eager]!)
    }

    @Test("where the patch's arithmetic holds, deferred and deferred-fixed clean the same runs in the same order")
    func deferredMatchesFixedOn4K48() throws {
        var cleans: [Strategy: [EventPayload]] = [:]
        var stale: [Strategy: Int] = [:]
        for strategy in [Strategy.deferred, .deferredFixed] {
            let engine = try IOPageTable(config: .default, strategy: strategy, sink: EventLog())
            for call in ChurnWorkload(operations: 500, seed: 3, geometry: engine.geometry) {
                let r = engine.perform(call)
                if call.kind != .iommuUnmap { stale[strategy, default: 0] += engine.staleEntries(iova: call.iova, size: r.value).count }
            }
            cleans[strategy] = engine.sink.events.compactMap {
                if case .clean = $0.payload { return $0.payload }
                if case .warn = $0.payload { return $0.payload }
                return nil
            }
        }
        #expect(cleans[.deferred]!.count > 100)
        #expect(cleans[.deferred] == cleans[.deferredFixed])
        #expect(stale[.deferred] == 0)
    }
}
