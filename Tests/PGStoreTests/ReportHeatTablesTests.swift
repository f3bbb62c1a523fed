import Foundation
import Testing
import PGEngine
import PGSources
@testable import PGStore

/// The report's heatmap names each table it shows with its level and IOVA
/// span, the tables a restored run inherited as well as those it allocated.
@Suite("report heatmap tables")
struct ReportHeatTablesTests {
    @Test("a restored run's cleans in inherited tables show their level and span, the root's its whole range")
    func inheritedTables() throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let source = WorkloadSource(kind: .generator, description: "t", sha256: "0")
        var r = RunRecording(config: .default, strategy: .eager, source: source, pgstoreVersion: "test")
        let first = try r.record(into: store, steps: [
            .call(Call(kind: .mapPages, iova: 0x4000_0000, paddr: 0x8000_0000, size: 0x1000, count: 4, prot: [.read, .write]), line: 1),
        ])
        let restored = try store.restore(Point(run: first.run, seq: first.events), into: store, strategy: nil)
        // Into the inherited L3 table, and a new 512 GiB region: a root entry.
        _ = try store.continueRun(restored, steps: [
            .call(Call(kind: .mapPages, iova: 0x4000_8000, paddr: 0x8000_8000, size: 0x1000, count: 2, prot: [.read]), line: 1),
            .call(Call(kind: .mapPages, iova: 0x80_0000_0000, paddr: 0x9000_0000, size: 0x1000, count: 1, prot: [.read]), line: 2),
        ], source: source, pgstoreVersion: "test", batchSize: 100, lenient: false, failOnCallError: false)

        let heat = try #require(try store.reportData(runs: [restored]).runs.first?.heat)
        let byPath = Dictionary(uniqueKeysWithValues: heat.map { ($0.path, $0) })
        let leaf = try #require(byPath["L0/0/L1/1/L2/0/L3"], "\(heat.map(\.path))")
        #expect(leaf.level == 3 && leaf.iovaStart == 0x4000_0000 && leaf.iovaEnd == 0x401f_ffff)
        #expect(leaf.lines == 64 && leaf.cells.map(\.line) == [1])
        let root = try #require(byPath["L0"], "\(heat.map(\.path))")
        #expect(root.level == 0 && root.iovaStart == 0 && root.iovaEnd == 0xffff_ffff_ffff)
        #expect(root.lines == 64 && root.cells.map(\.line) == [0])
        // The tables the run allocated itself are named from their allocation.
        let fresh = try #require(byPath["L0/1/L1/0/L2/0/L3"], "\(heat.map(\.path))")
        #expect(fresh.level == 3 && fresh.iovaStart == 0x80_0000_0000)
    }
}
