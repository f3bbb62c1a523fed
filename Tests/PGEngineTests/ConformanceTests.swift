import Foundation
import Testing
@testable import PGEngine
import PGSources

/// Every workload of `Tests/Fixtures/conformance` run through the engine and compared,
/// call by call, with what the kernel's own io-pgtable-arm recorded: results,
/// counts, every allocation, clean and TLB callback in order, the final tables,
/// the totals, and the teardown.
@Suite("Kernel conformance")
struct ConformanceTests {
    static let outputs: [String] = (try? SharedFiles.conformanceOutputs()) ?? []

    @Test("the conformance outputs are there")
    func outputsExist() {
        #expect(Self.outputs.count == 15)
    }

    @Test("reproduces the kernel's log", arguments: outputs)
    func reproduces(_ outputName: String) throws {
        let expectedText = try SharedFiles.read(SharedFiles.conformance.appendingPathComponent("out/\(outputName)"))
        let expected = ConformanceLog(parsing: expectedText)
        let workloadName = String(outputName.split(separator: ".")[0]) + ".txt"
        let workloadText = try SharedFiles.read(SharedFiles.conformance.appendingPathComponent(workloadName))
        let script = try ScriptParser.parse(workloadText, file: workloadName)

        let (config, strategy) = try Self.configuration(from: expected.config)
        let actualText = try Self.render(script: script, config: config, strategy: strategy)
        let actual = ConformanceLog(parsing: actualText)

        #expect(actual.entries.count == expected.entries.count, "number of calls")
        for (i, (want, got)) in zip(expected.entries, actual.entries).enumerated() {
            let context = "call \(i): \(want.head)"
            try #require(got.head == want.head, "\(context): head \(got.head)")
            try #require(got.result == want.result, "\(context): result \(got.result) expected \(want.result)")
            try #require(got.counts == want.counts, "\(context): counts \(got.counts) expected \(want.counts)")
            let wantDetails = want.details.filter { !$0.hasPrefix("WARN") }
            let gotDetails = got.details.filter { !$0.hasPrefix("WARN") && !$0.hasPrefix("SMMU") }
            try #require(gotDetails == wantDetails, "\(context): details\n got: \(gotDetails)\nwant: \(wantDetails)")
        }
        #expect(actual.outputs == expected.outputs)
        #expect(actual.dump == expected.dump)
        #expect(actual.staleAtEnd == expected.staleAtEnd)
        #expect(actual.stats == expected.stats)
    }

    /// The configuration a log's `CONFIG` line describes.
    static func configuration(from fields: [String: String]) throws -> (PageTableConfig, Strategy) {
        var config = PageTableConfig()
        config.stage = fields["fmt"] == "ARM_64_LPAE_S2" ? .two : .one
        let bitmap = try #require(UInt64(fields["pgsize_bitmap"]!.dropFirst(2), radix: 16))
        config.granule = try #require(Granule(rawValue: 1 << UInt64(bitmap.trailingZeroBitCount)))
        config.ias = try #require(Int(fields["ias"]!))
        config.oas = try #require(Int(fields["oas"]!))
        config.coherentWalk = fields["coherent_walk"] == "1"
        return (config, fields["defer_sync_pte"] == "1" ? .deferred : .eager)
    }

    /// Runs a script and renders everything the way the logs lay it out.
    static func render(script: Script, config: PageTableConfig, strategy: Strategy) throws -> String {
        let run = try TracedRun(config: config, strategy: strategy)
        let text = TraceText(engine: run.engine)
        var lines = [text.configLine()]
        lines += text.lines(run.traces[0])
        for statement in script.statements {
            switch statement.command {
            case .call(let call): lines += text.lines(run.perform(call))
            case .stale: lines += text.staleLines()
            case .dump: lines += text.dump()
            case .snapshot: break
            }
        }
        lines += text.dump()
        lines.append("STALE_AT_END \(run.engine.staleEntryCount())")
        lines.append(text.statsLine(run.events))
        lines += text.lines(run.free())
        return lines.joined(separator: "\n")
    }
}
