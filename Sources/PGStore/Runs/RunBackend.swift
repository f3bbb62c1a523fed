import GRDB
import PGEngine

/// What ran a run's io-pgtable calls (`runs.backend`, migration 0009).
public enum RunBackend: Sendable, Hashable {
    /// pgstore's model of io-pgtable-arm.
    case engine
    /// A kernel tree's own io-pgtable-arm.c in pgstore's helper.
    case kernel(KernelRun)

    /// The kernel tree a kernel run's helper was built from.
    public struct KernelRun: Sendable, Hashable {
        /// The tree's version from its Makefile (`6.12.118`).
        public var version: String
        /// The directory given to `--kernel-source`.
        public var source: String
        /// The content hash of the helper's inputs (the tree's files and pgstore's shim).
        public var sha256: String
        /// `cfg.defer_sync_pte` as the run set it.
        public var deferSyncPTE: Bool

        public init(version: String, source: String, sha256: String, deferSyncPTE: Bool) {
            self.version = version
            self.source = source
            self.sha256 = sha256
            self.deferSyncPTE = deferSyncPTE
        }

        /// `runs.strategy` of such a run: `kernel 6.12.118`, `+defer_sync_pte` when set.
        public var label: String { "kernel \(version)" + (deferSyncPTE ? "+defer_sync_pte" : "") }
    }

    init(row: Row) throws {
        let name: String? = row["backend"]
        switch name ?? "engine" {
        case "engine":
            self = .engine
        case "kernel":
            self = .kernel(KernelRun(version: row["kernel_version"] ?? "", source: row["kernel_source"] ?? "",
                                     sha256: row["kernel_sha256"] ?? "", deferSyncPTE: row["defer_sync_pte"] ?? false))
        case let other:
            throw StoreError(.invalid, path: "", "run \(row["id"] as Int64) has an unknown backend \(other)")
        }
    }

    public var isKernel: Bool { if case .kernel = self { true } else { false } }
}
