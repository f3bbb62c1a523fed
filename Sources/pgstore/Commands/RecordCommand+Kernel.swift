import Foundation
import PGEngine
import PGKernel
import PGStore

/// `record --kernel-source DIR`: the workload's io-pgtable calls run in the
/// tree's own io-pgtable-arm.c, into the same history as the engine's runs.
extension RecordCommand {
    /// The kernel backend for this configuration, or nil for the engine. The
    /// tree is checked, its helper built (or taken from the cache) and the
    /// configuration tried on the kernel before the history file is opened:
    /// each refusal is an error with nothing recorded.
    ///
    /// The run's configuration takes the tree's profile (6.12 for a 6.12
    /// tree), so its tables are read back with the kernel's geometry.
    func kernelBackend(setup: inout ResolvedSetup) throws -> ExternalBackend? {
        guard let tree = try kernel.tree(kernelProfile: options.kernelProfile) else { return nil }
        if let strategy {
            throw PgstoreError("--strategy \(strategy): --kernel-source runs the tree's own code, which is its strategy (--defer-sync-pte sets cfg.defer_sync_pte)")
        }
        if let run = continueRun {
            throw PgstoreError("--continue \(run): --kernel-source starts the kernel's tables fresh; record the whole workload again, or restore a point of a kernel run into the engine")
        }
        setup.config.profile = tree.profile
        let deferSyncPTE = kernel.deferSyncPTE
        let binary: HelperBuild.Binary
        do {
            binary = try HelperBuild(tree: tree).helper()
            // The kernel's own answer to the configuration, before any file is
            // touched; the run keeps the geometry its model took.
            let probe = try KernelPageTable(helper: try KernelHelper(binary: binary), config: setup.config,
                                            deferSyncPTE: deferSyncPTE, sink: NullSink())
            setup.config = probe.model.config
            setup.geometry = probe.model.geometry
        } catch {
            throw PgstoreError("--kernel-source \(tree.directory.path): \(error.description)")
        }
        let config = setup.config
        let run = RunBackend.KernelRun(version: tree.version, source: tree.directory.path, sha256: binary.key, deferSyncPTE: deferSyncPTE)
        return ExternalBackend(kernel: run) { recorder in
            try KernelPageTable(helper: try KernelHelper(binary: binary), config: config, deferSyncPTE: deferSyncPTE, sink: recorder)
        }
    }
}
