import Foundation
import Testing
@testable import PGEngine
import PGSources

/// Seeded mutation fuzzing of the script and ftrace parsers, the validator and
/// the engine: mutated lines must parse or fail with a located error, never
/// crash; whatever parses runs through the engine, checked or not. The suite
/// runs a fixed number of cases with a fixed seed; `tools/fuzz` runs more
/// (PGSTORE_FUZZ_CASES, PGSTORE_FUZZ_SEED).
@Suite("Fuzzing")
struct FuzzTests {
    static let cases = Int(ProcessInfo.processInfo.environment["PGSTORE_FUZZ_CASES"] ?? "") ?? 3_000
    static let seed = UInt64(ProcessInfo.processInfo.environment["PGSTORE_FUZZ_SEED"] ?? "") ?? 20261125

    static let scriptLines = [
        "map 0x0 0x80000000 4K 1 rw", "map 0x200000 0x100200000 2M 1 rwcx", "unmap 0x0 4K 1", "unmap 0x0 2M 1",
        "iova_to_phys 0x123", "sync_map 0x0 0x200000", "iommu_map 0x1000 0x80001000 0x3000 rw", "iommu_unmap 0x1000 0x3000",
        "map_sg 0x400000 rw 0x90000000+4K 0x90001000+4K 0x95000000+8K", "tlb_sync", "access 0x1000 r", "access 0x0 wp",
        "snapshot s1", "dump", "stale", "config stage=2 granule=16k ias=40 oas=40", "# comment", "map 0x1ff000 0x80000000 0x1000 4 rw",
    ]

    static let ftraceLines = [
        "   (udev-worker)-532     [010] .....     4.878076: map: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 paddr=0x000000010ec80000 size=524288",
        "   kworker/u64:0-12      [011] .....   327.747766: unmap: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 size=524288 unmapped_size=524288",
        "             fio-2411  [005] .....  1234.568001: map:                  IOMMU: iova=0x00000000ffc00000 - 0x00000000ffe00000 paddr=0x00000008a3400000 size=2097152",
        "   kworker/u16:2-87      [003] .....  1234.569000: map: IOMMU: iova=0x00000000fffff000 paddr=0x0000000894a1c000 size=4096",
        "# tracer: nop", "cpus=12", "irq/26-AMD-Vi-154     [006] .....   327.753942: io_page_fault: IOMMU:ath12k_pci 0000:c2:00.0 iova=0x00000000fe980000 flags=0x0001",
    ]

    static let alphabet: [Character] = Array("0123456789abcdefxXKMGT +-=:[]./_#rwcxmp\t\r\u{0}\u{FFFD}é")

    static func mutate(_ line: String, _ rng: inout SplitMix64) -> String {
        var chars = Array(line)
        for _ in 0...(rng.next() % 4) {
            switch rng.next() % 7 {
            case 0 where !chars.isEmpty: chars.remove(at: Int(rng.next() % UInt64(chars.count)))
            case 1: chars.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: Int(rng.next() % UInt64(chars.count + 1)))
            case 2 where !chars.isEmpty: chars[Int(rng.next() % UInt64(chars.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            case 3 where !chars.isEmpty: chars = Array(chars.prefix(Int(rng.next() % UInt64(chars.count))))
            case 4:
                // Swap two fields.
                var fields = String(chars).split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                if fields.count > 2 { fields.swapAt(Int(rng.next() % UInt64(fields.count)), Int(rng.next() % UInt64(fields.count))) }
                chars = Array(fields.joined(separator: " "))
            case 5:
                // A number at an edge.
                let edges = ["0", "0xffffffffffffffff", "18446744073709551615", "0x8000000000000000", "4T", "1", "0x1001"]
                var fields = String(chars).split(separator: " ").map(String.init)
                if fields.count > 1 { fields[1 + Int(rng.next() % UInt64(fields.count - 1))] = edges[Int(rng.next() % UInt64(edges.count))] }
                chars = Array(fields.joined(separator: " "))
            default: break
            }
        }
        return String(chars)
    }

    @Test("mutated scripts never crash the parser, the validator or the engine")
    func scripts() throws {
        var rng = SplitMix64(seed: Self.seed)
        var parsed = 0, ran = 0
        let configs = [PageTableConfig.default, PageTableConfig(stage: .two, granule: .size16K, ias: 40, oas: 40),
                       PageTableConfig(granule: .size64K, ias: 52, oas: 52)]
        for _ in 0..<Self.cases {
            let lines = (0..<(1 + rng.next() % 6)).map { _ in
                let base = Self.scriptLines[Int(rng.next() % UInt64(Self.scriptLines.count))]
                return rng.next() % 3 == 0 ? base : Self.mutate(base, &rng)
            }
            let text = lines.joined(separator: rng.next() % 5 == 0 ? "\r\n" : "\n")
            do {
                let script = try ScriptParser.parse(text, file: "fuzz.pgs")
                parsed += 1
                let config = script.config.applied(to: configs[Int(rng.next() % UInt64(configs.count))])
                guard let geometry = try? Geometry(config) else { continue }
                let checked = rng.next() % 2 == 0
                if checked, (try? ScriptValidator.validate(script, geometry: geometry)) == nil { continue }
                let strategy = Strategy.allCases[Int(rng.next() % UInt64(Strategy.allCases.count))]
                guard let engine = try? IOPageTable(config: config, strategy: strategy, sink: EventLog()) else { continue }
                for s in script.statements {
                    if case .call(let call) = s.command, Self.safeToRun(call, checked: checked) { engine.perform(call) }
                }
                _ = engine.staleEntryCount()
                ran += 1
            } catch {
                #expect(error.location.line >= 1, "an error without a line: \(error)")
            }
        }
        #expect(parsed > Self.cases / 10)
        #expect(ran > 0)
    }

    /// Unchecked calls the engine models as the kernel would, but whose cost
    /// would be unbounded (a kernel walking terabytes): skipped, not crashed on.
    static func safeToRun(_ call: Call, checked: Bool) -> Bool {
        if checked { return true }
        switch call.kind {
        case .iommuMap, .iommuUnmap, .iotlbSyncMap: return call.size <= 1 << 32
        case .iommuMapSG: return call.segments.reduce(UInt64(0)) { $0 &+ $1.length } <= 1 << 32
        case .mapPages, .unmapPages: return call.count <= 1 << 16
        default: return true
        }
    }

    @Test("mutated ftrace lines are events, skipped lines or located errors")
    func ftrace() throws {
        var rng = SplitMix64(seed: Self.seed &+ 1)
        for _ in 0..<Self.cases {
            let lines = (0..<(1 + rng.next() % 5)).map { _ in
                Self.mutate(Self.ftraceLines[Int(rng.next() % UInt64(Self.ftraceLines.count))], &rng)
            }
            let text = lines.joined(separator: "\n")
            do {
                let log = try FtraceParser.parse(text, file: "t.txt", lenient: false)
                #expect(log.events.count + log.skippedLines <= lines.count + 1)
            } catch {
                #expect(error.location.line >= 1 && error.location.line <= lines.count)
            }
            // Every line is an event, a skipped line or a warning (a last empty line is no line).
            // (Split bytes: in Swift "\r\n" is one Character.)
            var physical = text.utf8.split(separator: 10, omittingEmptySubsequences: false)
            if physical.last?.isEmpty == true { physical.removeLast() }
            let lenient = try FtraceParser.parse(text, file: "t.txt", lenient: true)
            #expect(lenient.events.count + lenient.skippedLines + lenient.warnings.count == physical.count)
        }
    }
}
