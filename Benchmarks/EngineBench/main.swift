import Foundation
import PGEngine
import PGSources

// The engine alone, no sink: 1M single-page maps as separate iommu_map calls
// under each strategy, then one 1M-page map_sg. Prints ns per page, lines
// cleaned per page, and each figure's ratio to eager.

let pages = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
let sg = ScatterGatherWorkload(pages: pages, placement: .random, seed: 42, iova: 0x1_0000_0000)
let segments = sg.segments

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

struct Row { var name: String; var nsPerPage: Double; var linesPerPage: Double; var cleanCalls: Int }

func measure(_ strategy: Strategy, sgList: Bool) throws -> Row {
    var best = Double.infinity
    var lines = 0.0
    var calls = 0
    for _ in 0..<3 {
        let engine = try IOPageTable(config: .default, strategy: strategy, sink: NullSink())
        let start = now()
        if sgList {
            let r = engine.mapSG(iova: sg.iova, segments: segments, prot: [.read, .write])
            precondition(r.ret == 0)
        } else {
            var iova = sg.iova
            for s in segments {
                let r = engine.map(iova: iova, paddr: s.paddr, size: s.length, prot: [.read, .write])
                precondition(r.ret == 0)
                iova &+= s.length
            }
        }
        let elapsed = Double(now() - start)
        best = min(best, elapsed / Double(pages))
        lines = Double(engine.stats.cleanLines) / Double(pages)
        calls = engine.stats.cleanCalls
    }
    return Row(name: strategy.rawValue, nsPerPage: best, linesPerPage: lines, cleanCalls: calls)
}

func table(_ title: String, _ rows: [Row]) {
    print(title)
    print("strategy        ns/page  x eager  lines/page  x eager  clean calls")
    let base = rows[0]
    for r in rows {
        let name = r.name.padding(toLength: 14, withPad: " ", startingAt: 0)
        print(String(format: "%@  %7.1f  %7.2f  %10.3f  %7.3f  %11d", name, r.nsPerPage, r.nsPerPage / base.nsPerPage,
                     r.linesPerPage, base.linesPerPage > 0 ? r.linesPerPage / base.linesPerPage : 0, r.cleanCalls))
    }
    print("")
}

print("pgstore engine benchmark: \(pages) scattered 4 KiB pages, stage 1, 4K granule, 48-bit, 64-byte lines, no sink (best of 3)")
print("")
table("\(pages) separate iommu_map calls of one page:", try Strategy.comparisonOrder.map { try measure($0, sgList: false) })
table("one map_sg of \(pages) pages:", try Strategy.comparisonOrder.map { try measure($0, sgList: true) })
