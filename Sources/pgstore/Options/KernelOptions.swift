import ArgumentParser
import Foundation
import PGEngine
import PGKernel

/// `--kernel-source DIR` and `--defer-sync-pte`: run the io-pgtable calls in a
/// kernel tree's own io-pgtable-arm.c instead of pgstore's engine.
struct KernelOptions: ParsableArguments {
    @Option(name: .customLong("kernel-source"),
            help: ArgumentHelp("A kernel tree (at least drivers/iommu, include and the Makefile): its own io-pgtable-arm.c runs the io-pgtable calls, built with the system C compiler (PGSTORE_CC, CC or cc) and cached under PGSTORE_CACHE_DIR, XDG_CACHE_HOME/pgstore or ~/.cache/pgstore.", valueName: "DIR"))
    var kernelSource: String?

    @Flag(name: .customLong("defer-sync-pte"),
          help: "With --kernel-source: set cfg.defer_sync_pte (the tree must have that member, as the seed's patch adds it).")
    var deferSyncPTE = false

    /// The tree, checked before anything runs; nil for the engine.
    /// `kernelProfile` is the `--kernel-profile` given beside it, which a
    /// kernel run refuses: its model follows the tree's version.
    func tree(kernelProfile: String? = nil) throws -> KernelTree? {
        guard let kernelSource else {
            if deferSyncPTE { throw PgstoreError("--defer-sync-pte: only with --kernel-source (the engine's strategies are deferred and deferred-fixed)") }
            return nil
        }
        let tree = try Self.checkedTree(kernelSource, deferSyncPTE: deferSyncPTE)
        if let kernelProfile {
            throw PgstoreError("--kernel-profile \(kernelProfile): --kernel-source runs the tree's own code; pgstore's model of it follows the tree's version (\(tree.version))")
        }
        return tree
    }

    /// The tree at `path`, refused by name when it is not one or lacks
    /// `cfg.defer_sync_pte` that `deferSyncPTE` asks for.
    static func checkedTree(_ path: String, deferSyncPTE: Bool) throws -> KernelTree {
        let tree: KernelTree
        do { tree = try KernelTree(path: path) } catch { throw PgstoreError("--kernel-source \(path): \(error.description)") }
        if deferSyncPTE && !tree.hasDeferSyncPTE {
            throw PgstoreError("--defer-sync-pte: \(KernelError.unsupported(feature: "cfg.defer_sync_pte in struct io_pgtable_cfg (the seed's patch is not applied to \(tree.directory.path))", version: tree.version).description)")
        }
        return tree
    }
}
