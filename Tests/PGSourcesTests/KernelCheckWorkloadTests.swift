import PGEngine
import PGSources
import Testing

/// check-kernel's generated workloads: the same seed gives the same calls,
/// every configuration is one the profile accepts, the workloads reach what
/// the issue lists, and each one reads back from its `.pgs` text unchanged.
@Suite("check-kernel workloads")
struct KernelCheckWorkloadTests {
    static let workloads = (0..<200).map { KernelCheckWorkload(seed: 1, index: $0, profile: .v6_12) }

    @Test("the same seed and index give the same workload; another seed another")
    func deterministic() {
        let again = KernelCheckWorkload(seed: 1, index: 7, profile: .v6_12)
        #expect(again.script == Self.workloads[7].script)
        #expect(KernelCheckWorkload(seed: 2, index: 7, profile: .v6_12).script != again.script)
    }

    @Test("200 workloads cover both stages, every granule, many IAS/OAS pairs and every kind of call")
    func coverage() throws {
        let configs = Self.workloads.map(\.config)
        #expect(Set(configs.map(\.stage)) == [.one, .two])
        #expect(Set(configs.map(\.granule)) == [.size4K, .size16K, .size64K])
        #expect(Set(configs.map { "\($0.ias)/\($0.oas)" }).count >= 25)
        #expect(Set(configs.map(\.coherentWalk)) == [false, true])
        for c in configs { _ = try c.checked() }
        let calls = Self.workloads.flatMap(\.calls)
        let kinds = Set(calls.map(\.kind))
        #expect(kinds == [.mapPages, .unmapPages, .iovaToPhys, .iotlbSyncMap, .iotlbSync, .iommuMap, .iommuUnmap])
        // Blocks mapped, and pages unmapped out of a block; maps of many pages.
        #expect(calls.contains { $0.kind == .mapPages && $0.size > 0x10000 })
        #expect(calls.contains { $0.kind == .mapPages && $0.count >= 5 })
    }

    @Test("a workload's .pgs text parses back to its configuration and calls")
    func roundTrip() throws {
        for w in Self.workloads.prefix(50) {
            let script = try ScriptParser.parse(w.script, file: "w.pgs")
            #expect(script.config.applied(to: .default) == w.config)
            let calls = script.statements.compactMap { s -> Call? in if case .call(let c) = s.command { c } else { nil } }
            #expect(calls == w.calls, "workload \(w.index)")
        }
    }
}
