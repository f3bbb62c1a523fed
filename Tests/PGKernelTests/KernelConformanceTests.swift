import Foundation
import PGEngine
import Testing
@testable import PGKernel

/// The conformance workloads through the kernel's own io-pgtable-arm.c and
/// through pgstore's engine, compared event for event, call by call.
/// Debian's trees carry no seed patch, so both sides run the mainline (eager)
/// path; `sync_map` lines do nothing on either side. Against 6.12 the engine
/// runs its 6.12 profile and must match exactly; 6.1 is compared with the
/// mainline engine, tolerating the two ways 6.1 and 6.12 part from mainline.
@Suite("Kernel backend conformance", .serialized)
struct KernelConformanceTests {
    /// How one top-level call compared.
    enum Outcome: String {
        case equal
        /// The kernel returns 0 where the mainline engine returns -ENOENT through size_t.
        case emptyFirstEntry = "unmap of an empty first entry"
        /// The kernel splits the block where mainline warns and unmaps nothing; the states part here.
        case partialBlockSplit = "unmap of part of a block"
        case unexpected
    }

    struct Tally {
        var calls = 0, events = 0
        var divergences: [String] = []
    }

    static func classify(engine: [EventPayload], kernel: [EventPayload]) -> Outcome {
        if engine == kernel { return .equal }
        guard case .callBegin(let call)? = engine.first, call.kind == .unmapPages else { return .unexpected }
        if engine.contains(.warn(.unmapPartialBlock)),
           kernel.contains(where: { if case .tableAlloc = $0 { return true } else { return false } }) {
            return .partialBlockSplit
        }
        if case .callEnd(_, let r)? = engine.last, r.value == UInt64(bitPattern: -Errno.ENOENT),
           case .callEnd(_, let k)? = kernel.last, k.value == 0,
           Array(engine.dropLast()) == Array(kernel.dropLast()) {
            return .emptyFirstEntry
        }
        return .unexpected
    }

    /// Runs one workload both ways and tallies how its calls compared.
    static func compare(_ output: String, helper binary: HelperBuild.Binary, profile: KernelProfile = .mainline,
                        tally: inout Tally) throws {
        var (config, calls) = try Workloads.load(output)
        config.profile = profile
        let engine = try IOPageTable(config: config, strategy: .eager, sink: EventLog())
        let kernel = try KernelPageTable(helper: try KernelHelper(binary: binary), config: config, sink: EventLog())
        for call in calls {
            _ = engine.run(call)
            _ = try kernel.run(call)
        }
        let e = KernelCheck.topLevelCalls(engine.sink.events), k = KernelCheck.topLevelCalls(kernel.sink.events)
        #expect(e.count == k.count, "\(output): calls")
        for (i, (want, got)) in zip(e, k).enumerated() {
            let outcome = classify(engine: want, kernel: got)
            tally.calls += 1
            tally.events += min(want.count, got.count)
            if outcome == .equal { continue }
            tally.divergences.append("\(output) call \(i): \(outcome.rawValue)")
            if outcome == .unexpected {
                Issue.record("\(output) call \(i) differs:\nengine: \(want)\nkernel: \(got)")
                return
            }
            if outcome == .partialBlockSplit { return }
        }
    }

    @Test("6.12 builds and matches the engine's 6.12 profile on every conformance workload, event for event",
          .enabled(if: KernelTrees.v6_12 != nil || KernelTrees.inCI, KernelTrees.missing612))
    func kernel612() throws {
        let path = try #require(KernelTrees.v6_12, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let binary = try KernelTrees.helper(path)
        #expect(binary.tree.version.hasPrefix("6.12."))
        #expect(!binary.tree.hasSyncMap && !binary.tree.hasDeferSyncPTE && !binary.tree.allocatesBySize)
        var tally = Tally()
        for output in Workloads.outputs { try Self.compare(output, helper: binary, profile: .v6_12, tally: &tally) }
        print("kernel \(binary.tree.version): \(tally.events) events in \(tally.calls) calls compared; divergences: \(tally.divergences)")
        #expect(Workloads.outputs.count == 15)
        #expect(tally.divergences.isEmpty)
        #expect(tally.calls == 3686)
        #expect(tally.events == 16554)
    }

    @Test("6.1 builds and maps w1 and w2 exactly as the engine",
          .enabled(if: KernelTrees.v6_1 != nil || KernelTrees.inCI, KernelTrees.missing61))
    func kernel61() throws {
        let path = try #require(KernelTrees.v6_1, "CI=true but PGSTORE_KERNEL_SOURCE_6_1 is not set")
        let binary = try KernelTrees.helper(path)
        #expect(binary.tree.version.hasPrefix("6.1."))
        var tally = Tally()
        for output in ["w1_single4k.eager.txt", "w2_512x4k_eager.eager.txt"] {
            try Self.compare(output, helper: binary, tally: &tally)
        }
        print("kernel \(binary.tree.version): \(tally.events) events in \(tally.calls) calls compared; divergences: \(tally.divergences)")
        #expect(tally.divergences.isEmpty)
        #expect(tally.events > 0)
    }
}
