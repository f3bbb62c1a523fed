import Foundation
import PGEngine

/// A kernel source tree pgstore can build its helper from: at least
/// `drivers/iommu/` and `include/` (a full tree works too), and the Makefile
/// for the version. Its features are read from its own headers.
public struct KernelTree: Sendable, Hashable {
    /// The tree's files the helper is built from, relative to the tree.
    public static let sourceFiles = ["drivers/iommu/io-pgtable-arm.c", "drivers/iommu/io-pgtable.c",
                                     "include/linux/io-pgtable.h"]
    /// Copied too when the tree has it (6.3 and later).
    public static let optionalFiles = ["drivers/iommu/io-pgtable-arm.h"]

    public let directory: URL
    /// `VERSION.PATCHLEVEL.SUBLEVEL` from the Makefile, e.g. `6.12.118`.
    public let version: String
    /// `struct io_pgtable_ops` has `iotlb_sync_map` (the seed's patch).
    public let hasSyncMap: Bool
    /// `struct io_pgtable_cfg` has `defer_sync_pte` (the seed's patch).
    public let hasDeferSyncPTE: Bool
    /// `iommu-pages.h` allocates by size (`iommu_alloc_pages_node_sz`, mainline since 6.16).
    public let allocatesBySize: Bool
    /// `IO_PGTABLE_QUIRK_NO_WARN` exists (mainline since 6.15).
    public let hasNoWarnQuirk: Bool

    /// Validates `path` and reads what the build needs to know.
    public init(path: String) throws(KernelError) {
        let dir = URL(fileURLWithPath: path).standardizedFileURL
        directory = dir
        for file in KernelTree.sourceFiles where !FileManager.default.fileExists(atPath: dir.appending(path: file).path) {
            throw .notAKernelTree(directory: dir.path, missing: file)
        }
        version = try KernelTree.readVersion(makefile: dir.appending(path: "Makefile"))
        let header = (try? String(contentsOf: dir.appending(path: "include/linux/io-pgtable.h"), encoding: .utf8)) ?? ""
        hasSyncMap = KernelTree.structBody("io_pgtable_ops", in: header).contains("(*iotlb_sync_map)")
        hasDeferSyncPTE = KernelTree.structBody("io_pgtable_cfg", in: header).range(
            of: #"\bdefer_sync_pte\s*;"#, options: .regularExpression) != nil
        hasNoWarnQuirk = header.contains("IO_PGTABLE_QUIRK_NO_WARN")
        let pages = (try? String(contentsOf: dir.appending(path: "drivers/iommu/iommu-pages.h"), encoding: .utf8)) ?? ""
        allocatesBySize = pages.contains("iommu_alloc_pages_node_sz")
    }

    /// The engine profile that reproduces this tree (6.12 for a 6.12 tree,
    /// else mainline): what pgstore's model of the kernel's tables follows.
    public var profile: KernelProfile { KernelProfile(parsing: version) ?? .mainline }

    /// `kernel 6.12.118` as a run's strategy names it.
    public var displayName: String { "kernel \(version)" }

    /// The `-D` flags that tell the shim what this tree has.
    public var featureDefines: [String] {
        var flags = ["-DPGSHIM_KERNEL_VERSION=\"\(version)\""]
        if hasSyncMap { flags.append("-DPGSHIM_HAS_SYNC_MAP") }
        if hasDeferSyncPTE { flags.append("-DPGSHIM_HAS_DEFER_SYNC_PTE") }
        if allocatesBySize { flags.append("-DPGSHIM_IOMMU_PAGES_SZ") }
        return flags
    }

    /// The files copied into the build, relative to the tree, with their contents.
    public func buildFiles() throws(KernelError) -> [(path: String, contents: Data)] {
        var out: [(String, Data)] = []
        for file in KernelTree.sourceFiles + KernelTree.optionalFiles {
            let url = directory.appending(path: file)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                if KernelTree.optionalFiles.contains(file) { continue }
                throw .notAKernelTree(directory: directory.path, missing: file)
            }
            out.append((file, data))
        }
        return out
    }

    static func readVersion(makefile: URL) throws(KernelError) -> String {
        guard let text = try? String(contentsOf: makefile, encoding: .utf8) else {
            throw .noVersion(makefile: makefile.path)
        }
        func value(_ key: String) -> String? {
            for line in text.split(separator: "\n").prefix(40) {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == key {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
        guard let v = value("VERSION"), let p = value("PATCHLEVEL"), !v.isEmpty, !p.isEmpty else {
            throw .noVersion(makefile: makefile.path)
        }
        let s = value("SUBLEVEL") ?? ""
        let extra = value("EXTRAVERSION") ?? ""
        return "\(v).\(p)" + (s.isEmpty ? "" : ".\(s)") + extra
    }

    /// The text between `struct NAME {` and its closing `};`.
    static func structBody(_ name: String, in text: String) -> Substring {
        guard let start = text.range(of: "struct \(name) {") else { return "" }
        let rest = text[start.upperBound...]
        guard let end = rest.range(of: "\n};") else { return rest }
        return rest[..<end.lowerBound]
    }
}
