import PGEngine

/// What can go wrong between a kernel tree and a run, each naming what was wrong.
public enum KernelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The directory is not there or has no `drivers/iommu/io-pgtable-arm.c`.
    case notAKernelTree(directory: String, missing: String)
    /// The tree's Makefile gives no VERSION / PATCHLEVEL.
    case noVersion(makefile: String)
    /// No C compiler at the path tried (`PGSTORE_CC`, `CC` or `cc`).
    case noCompiler(tried: String)
    /// The tree does not compile against the shim: the compiler's first error lines.
    case compileFailed(version: String, step: String, firstErrors: [String])
    /// A cache or scratch directory could not be written.
    case cacheUnusable(path: String, reason: String)
    /// The helper could not be started.
    case launchFailed(path: String, reason: String)
    /// The helper spoke something other than protocol version 1.
    case protocolMismatch(line: String)
    /// The helper refused a step (`E` line): pgstore sent something it cannot run.
    case stepRefused(step: String, reason: String)
    /// The kernel hit `BUG_ON` (or `BUG()`): the run ends there.
    case kernelBug(site: String, condition: String)
    /// The helper stopped without finishing a step (a crash): its exit status and last messages.
    case helperCrashed(status: String, stderr: String)
    /// A WARN site the kernel reached that pgstore has no ``Warning`` for.
    case unknownWarning(site: String, condition: String)
    /// A feature the tree does not have (`--defer-sync-pte` without `cfg.defer_sync_pte`, ...).
    case unsupported(feature: String, version: String)
    /// The kernel refused the configuration (alloc_io_pgtable_ops returned NULL or an error).
    case configurationRefused(ret: Int64, version: String)
    /// A call the kernel backend does not take from a workload (`alloc_io_pgtable_ops`).
    case notAnIOPgtableCall(String)
    /// A table descriptor install pgstore could not place in the tree.
    case unplacedTable(id: Int)

    /// Kernel versions the shim is written for and tested against.
    public static let supportedVersions = "6.1, 6.12 and mainline's API as of 6.18 (iommu_alloc_pages_node_sz, IO_PGTABLE_QUIRK_NO_WARN)"

    public var description: String {
        switch self {
        case .notAKernelTree(let dir, let missing):
            return "\(dir) is not a kernel tree pgstore can use: \(missing) is missing"
        case .noVersion(let makefile):
            return "\(makefile) gives no VERSION and PATCHLEVEL"
        case .noCompiler(let tried):
            return "no C compiler: \(tried) was not found or cannot run (set PGSTORE_CC or CC to one)"
        case .compileFailed(let version, let step, let errors):
            return "kernel \(version) does not compile against pgstore's shim (\(step)); the shim supports \(KernelError.supportedVersions). First errors:\n"
                + errors.joined(separator: "\n")
        case .cacheUnusable(let path, let reason):
            return "cannot use \(path) for the kernel helper: \(reason) (set PGSTORE_CACHE_DIR to a writable directory)"
        case .launchFailed(let path, let reason):
            return "cannot start the kernel helper \(path): \(reason)"
        case .protocolMismatch(let line):
            return "the kernel helper does not speak protocol 1: \(line)"
        case .stepRefused(let step, let reason):
            return "the kernel helper refused '\(step)': \(reason)"
        case .kernelBug(let site, let condition):
            return "kernel BUG at \(site): BUG_ON(\(condition)); the kernel would stop here"
        case .helperCrashed(let status, let stderr):
            return "the kernel helper stopped (\(status))" + (stderr.isEmpty ? "" : ": \(stderr)")
        case .unknownWarning(let site, let condition):
            return "the kernel warned at \(site) (\(condition)), a WARN site pgstore does not know"
        case .unsupported(let feature, let version):
            return "kernel \(version) has no \(feature)"
        case .configurationRefused(let ret, let version):
            return "kernel \(version) refused the configuration (alloc_io_pgtable_ops: \(ret == -22 ? "NULL" : Errno.name(ret)))"
        case .notAnIOPgtableCall(let name):
            return "\(name) is made once, when the kernel backend starts; a workload cannot call it"
        case .unplacedTable(let id):
            return "table T#\(id) was allocated but never installed in the tree"
        }
    }
}
