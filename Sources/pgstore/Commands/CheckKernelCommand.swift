import ArgumentParser
import Foundation
import PGEngine
import PGSources
import PGKernel

/// `pgstore check-kernel`: generated workloads through a kernel tree's own
/// io-pgtable-arm.c and through pgstore's engine, every event compared.
struct CheckKernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-kernel",
        abstract: "Check pgstore's engine against a kernel tree's own io-pgtable-arm.c on generated workloads.",
        discussion: """
        Runs --workloads seeded workloads through the tree (its io-pgtable-arm.c built into pgstore's \
        helper, as for record --kernel-source) and through the engine under the tree's profile (6.12 for \
        a 6.12 tree, else mainline), and compares every event: each descriptor write, clean, allocation, \
        free, TLB callback and WARN, call by call. The workloads cover both stages, every granule, the \
        IAS/OAS pairs the kernel accepts, page and block maps, maps crossing a leaf table's end, EEXIST, \
        partial unmaps (also of part of a block), unmaps of holes, iova_to_phys, sync_map, and the core's \
        iommu_map and iommu_unmap. For each workload that diverges it prints the first divergence (the \
        call, the event, both sides) and writes the workload as a .pgs script to --output, to rerun with \
        `pgstore run --kernel-source DIR FILE` and `pgstore run --kernel-profile P FILE`. \
        Exit status 1 when any workload diverges, 0 when none does.
        """
    )

    @Option(name: .customLong("kernel-source"), help: ArgumentHelp("The kernel tree to check against.", valueName: "DIR"))
    var kernelSource: String

    @Option(help: "How many workloads to run.")
    var workloads: Int = 100

    @Option(help: "The seed of the workloads (the same seed gives the same workloads).")
    var seed: UInt64 = 1

    @Flag(name: .customLong("defer-sync-pte"),
          help: "Set cfg.defer_sync_pte in the kernel (the seed's patch) and compare with the engine's deferred strategy.")
    var deferSyncPTE = false

    @Option(name: .customLong("kernel-profile"),
            help: ArgumentHelp("The engine's profile to compare with (default: the tree's, from its version: 6.12 for a 6.12 tree, else mainline).", valueName: "PROFILE"))
    var kernelProfile: String?

    @Option(help: ArgumentHelp("Where divergent workloads are written as .pgs scripts.", valueName: "DIR"))
    var output: String = "."

    func run() throws {
        guard workloads > 0 else { throw PgstoreError("--workloads \(workloads): must be at least 1") }
        let tree = try KernelOptions.checkedTree(kernelSource, deferSyncPTE: deferSyncPTE)
        let binary: HelperBuild.Binary
        do { binary = try HelperBuild(tree: tree).helper() } catch {
            throw PgstoreError("--kernel-source \(kernelSource): \(error.description)")
        }
        let check = KernelCheck(binary: binary, deferSyncPTE: deferSyncPTE)
        var profile = tree.profile
        if let kernelProfile {
            guard let p = KernelProfile(parsing: kernelProfile) else {
                throw PgstoreError("--kernel-profile \(kernelProfile): unknown kernel profile (expected mainline or 6.12)")
            }
            profile = p
        }
        var calls = 0, events = 0, divergent: [Int] = []
        for index in 0..<workloads {
            let workload = KernelCheckWorkload(seed: seed, index: index, profile: profile)
            let outcome: KernelCheck.Outcome
            do { outcome = try check.run(workload) } catch {
                throw PgstoreError("workload \(index) (\(workload.config.scriptLine)): \(error.description)")
            }
            calls += outcome.calls
            events += outcome.events
            guard let d = outcome.divergence else { continue }
            divergent.append(index)
            let file = URL(fileURLWithPath: output).appending(path: "check-kernel-\(seed)-\(index).pgs")
            do {
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try workload.script.write(to: file, atomically: true, encoding: .utf8)
            } catch {
                throw PgstoreError("\(file.path): cannot write the divergent workload: \(error.localizedDescription)")
            }
            let where_ = d.callIndex < 0 ? "the allocation" : "call \(d.callIndex + 1)" + (d.call?.scriptLine.map { " (\($0))" } ?? "")
            print("workload \(index) [\(workload.config.scriptLine)]: diverges at \(where_), event \(d.eventIndex + 1) of it")
            print("  engine: \(d.engine ?? "no event")")
            print("  kernel: \(d.kernel ?? "no event")")
            print("  written to \(file.path)")
        }
        let strategy = deferSyncPTE ? "deferred" : "eager"
        print("check-kernel: \(tree.displayName)\(deferSyncPTE ? "+defer_sync_pte" : "") against pgstore's engine (profile \(profile), \(strategy)), "
              + "seed \(seed): \(workloads) workloads, \(groupDigits(Int64(calls))) calls, \(groupDigits(Int64(events))) events compared, "
              + "\(divergent.count) divergent")
        if !divergent.isEmpty { throw ExitCode(1) }
    }
}
