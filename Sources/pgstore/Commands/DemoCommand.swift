import ArgumentParser
import Foundation
import PGEngine

/// `pgstore demo`: the seed thread's case under every strategy, side by side.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Map the seed thread's scatter-gather list (4,096 scattered 4 KiB pages) under every strategy and compare the cleans.",
        discussion: """
        Mapping a long scatter-gather list 4 KiB at a time cleans each 64-byte line of leaf \
        descriptors once per descriptor, eight times; the strategies of the thread clean it once. \
        The table shows clean calls, lines cleaned, lines per mapped page, redundant cleans (a line \
        cleaned again), the most any line was cleaned, and descriptors still stale when map_sg returns.
        """
    )

    @Option(help: "Pages in the scatter-gather list.")
    var pages: Int = 4096

    @Option(help: "Seed for the scattered physical placement.")
    var seed: UInt64 = 1

    func run() throws {
        guard pages > 0, pages <= 1 << 24 else { throw PgstoreError("--pages \(pages): expected 1 to 16777216") }
        let workload = ScatterGatherWorkload(pages: pages, placement: .random, seed: seed)
        let config = PageTableConfig.default
        print("pgstore demo: map_sg of \(pages) scattered 4 KiB pages at IOVA \(hex(workload.iova)); "
              + "stage 1, 4K granule, 48-bit IAS/OAS, non-coherent walk, 64-byte lines")
        print("")
        var rows: [[String]] = []
        for strategy in Strategy.comparisonOrder {
            let engine = try IOPageTable(config: config, strategy: strategy, sink: CleanTally())
            let result = engine.perform(workload.call)
            guard result.ret == 0 else { throw PgstoreError("map_sg failed under \(strategy): \(Errno.name(result.ret))") }
            let stale = engine.staleEntries(iova: workload.iova, size: result.value).count
            let t = engine.sink
            rows.append([strategy.rawValue, "\(t.cleanCalls)", "\(t.lines)",
                         String(format: "%.3f", Double(t.lines) / Double(pages)), "\(t.redundantLines)",
                         "\(t.maxCleansPerLine)", "\(stale)"])
        }
        let header = ["strategy", "clean calls", "lines cleaned", "lines/page", "redundant", "max/line", "stale after map_sg"]
        print(TextTable(header: header, rows: rows, rightAligned: Set(1..<header.count)).render())
    }
}
