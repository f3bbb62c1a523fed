import Foundation
import Testing
@testable import PGEngine
import PGSources

/// The figures of docs/FINDINGS.md, from the scripts in docs/findings.
@Suite("Findings")
struct FindingsTests {
    static func run(_ name: String, strategy: Strategy) throws -> (TracedRun, CallTrace) {
        let url = SharedFiles.packageRoot.appendingPathComponent("docs/findings/\(name).pgs")
        let script = try ScriptParser.parse(try SharedFiles.read(url), file: name)
        let config = script.config.applied(to: .default)
        try ScriptValidator.validate(script, geometry: try Geometry(config))
        let run = try TracedRun(config: config, strategy: strategy)
        var mapTrace: CallTrace?
        for statement in script.statements {
            if case .call(let call) = statement.command {
                let trace = run.perform(call)
                if call.kind == .iommuMap { mapTrace = trace }
            }
        }
        return (run, try #require(mapTrace))
    }

    @Test("16K straddle: the patch cleans no leaf and the device reads stale memory")
    func straddle() throws {
        let (run, map) = try Self.run("deferred-16k-straddle", strategy: .deferred)
        #expect(map.result.ret == 0)
        #expect(map.staleAfter == 2)
        let sync = map.events.filter {
            if case .callBegin(let c) = $0.payload { return c.kind == .iotlbSyncMap } else { return false }
        }
        #expect(sync.count == 1)
        let leafCleans = map.events.filter {
            if case .clean(let t, _, _, _, _, _, .descriptors) = $0.payload { return run.engine.tables[t].level == 3 }
            return false
        }
        #expect(leafCleans.isEmpty)
        #expect(run.engine.stats.staleReads == 2)
        #expect(run.engine.stats.accesses == 2)

        let (fixed, fixedMap) = try Self.run("deferred-16k-straddle", strategy: .deferredFixed)
        #expect(fixedMap.staleAfter == 0)
        #expect(fixedMap.counts.cmo == 7 && fixedMap.counts.lines == 7)
        #expect(fixed.engine.stats.staleReads == 0)
    }

    @Test("16K over-walk: 1,999 warnings and 254 lines instead of 4")
    func overwalk() throws {
        let (_, map) = try Self.run("deferred-16k-overwalk", strategy: .deferred)
        #expect(map.counts.warn == 1999)
        #expect(map.counts.lines == 254)
        #expect(map.staleAfter == 0)
        let (_, fixed) = try Self.run("deferred-16k-overwalk", strategy: .deferredFixed)
        #expect(fixed.counts.warn == 0 && fixed.counts.lines == 4)
    }

    @Test("4K stage-2 concatenated root: 511 warnings and 67 lines instead of 3")
    func concatenated() throws {
        let (_, map) = try Self.run("deferred-4k-s2-concat", strategy: .deferred)
        #expect(map.counts.warn == 511)
        #expect(map.counts.lines == 67)
        let (_, fixed) = try Self.run("deferred-4k-s2-concat", strategy: .deferredFixed)
        #expect(fixed.counts.warn == 0 && fixed.counts.lines == 3)
    }
}
