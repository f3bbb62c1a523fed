import Crypto
import Foundation

/// Builds the kernel helper for a tree: the tree's io-pgtable files and
/// pgstore's shim (embedded in this binary) written to a scratch directory,
/// compiled with the system C compiler, and cached by the SHA-256 of every
/// input (compiler, flags, shim, tree files), so a changed tree or a new
/// pgstore builds again and nothing else does.
///
/// The scratch copy is the fix for the iommu-pages.h trap: the tree's own
/// `drivers/iommu/iommu-pages.h` (which pulls in much of mm) is not copied, so
/// `#include "iommu-pages.h"` finds the shim's.
public struct HelperBuild: Sendable {
    /// The protocol the shim speaks (docs/KERNEL-HELPER.md).
    public static let protocolVersion = 1
    /// The kernel's own flags where they matter, plus what keeps every
    /// descriptor store a store the instrumentation sees (no memset or vector
    /// stores made out of the kernel's loops).
    public static let commonFlags = ["-std=gnu11", "-O2", "-g0", "-fno-strict-aliasing", "-fno-strict-overflow",
                                     "-fno-delete-null-pointer-checks", "-fno-tree-loop-distribute-patterns",
                                     "-fno-tree-vectorize", "-fno-builtin", "-Wno-unused-function",
                                     "-Wno-unused-variable", "-Wno-unused-parameter"]
    /// Only the kernel's translation unit is instrumented.
    public static let kernelFlags = ["-fsanitize=thread", "-iquote", ".", "-I", "shim/include", "-I", "include"]

    public let tree: KernelTree
    public let compiler: String
    public let cacheRoot: URL

    /// The compiler comes from `PGSTORE_CC`, then `CC`, then `cc` on the PATH; the
    /// cache from `PGSTORE_CACHE_DIR`, `$XDG_CACHE_HOME/pgstore` or `~/.cache/pgstore`.
    public init(tree: KernelTree, environment: [String: String] = ProcessInfo.processInfo.environment) throws(KernelError) {
        self.tree = tree
        let named = environment["PGSTORE_CC"] ?? environment["CC"] ?? "cc"
        guard let path = HelperBuild.resolve(named, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw .noCompiler(tried: named)
        }
        compiler = path
        cacheRoot = HelperBuild.cacheDirectory(environment)
    }

    /// A built helper.
    public struct Binary: Sendable {
        public let path: String
        public let tree: KernelTree
        /// The SHA-256 of every input it was built from (its cache key).
        public let key: String
        /// True when it came from the cache.
        public let cached: Bool
        public let seconds: Double
    }

    /// The helper for this tree, built now or taken from the cache.
    public func helper() throws(KernelError) -> Binary {
        let start = Date()
        let files = try tree.buildFiles()
        let compilerVersion = try run(compiler, ["--version"], in: nil).output.split(separator: "\n").first.map(String.init) ?? ""
        let key = HelperBuild.key(compiler: compiler + " " + compilerVersion, defines: tree.featureDefines, tree: files)
        let dir = cacheRoot.appending(path: "kernel-helper/\(key)")
        let binary = dir.appending(path: "pgstore-kernel-helper")
        if FileManager.default.isExecutableFile(atPath: binary.path) {
            return Binary(path: binary.path, tree: tree, key: key, cached: true, seconds: Date().timeIntervalSince(start))
        }
        let scratch = cacheRoot.appending(path: "kernel-helper/build-\(key.prefix(16))-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try write(files: files, into: scratch)
        try compile(in: scratch)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: scratch.appending(path: "pgstore-kernel-helper"), to: binary)
        } catch {
            // Another build of the same inputs may have finished first.
            guard FileManager.default.isExecutableFile(atPath: binary.path) else {
                throw .cacheUnusable(path: dir.path, reason: "\(error.localizedDescription)")
            }
        }
        return Binary(path: binary.path, tree: tree, key: key, cached: false, seconds: Date().timeIntervalSince(start))
    }

    /// SHA-256 over everything the binary depends on.
    static func key(compiler: String, defines: [String], tree: [(path: String, contents: Data)]) -> String {
        var hash = SHA256()
        func add(_ s: String) { hash.update(data: Data((s + "\u{0}").utf8)) }
        add("pgstore-kernel-helper protocol \(protocolVersion)")
        add(compiler)
        (commonFlags + kernelFlags + defines).forEach(add)
        for file in EmbeddedShim.all {
            add("shim/" + file.identifier)
            add(file.text)
        }
        for file in tree {
            add(file.path)
            hash.update(data: file.contents)
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private func write(files: [(path: String, contents: Data)], into scratch: URL) throws(KernelError) {
        do {
            try? FileManager.default.removeItem(at: scratch)
            for file in EmbeddedShim.all {
                try put(Data(file.text.utf8), at: scratch.appending(path: "shim/" + file.identifier))
            }
            for file in files { try put(file.contents, at: scratch.appending(path: file.path)) }
        } catch {
            throw .cacheUnusable(path: scratch.path, reason: "\(error.localizedDescription)")
        }
    }

    private func put(_ data: Data, at url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    private func compile(in scratch: URL) throws(KernelError) {
        let defines = tree.featureDefines
        let units: [(source: String, flags: [String])] = [
            ("shim/kernel-glue.c", HelperBuild.kernelFlags),
            ("shim/harness.c", []), ("shim/tables.c", []), ("shim/tsan.c", []),
        ]
        var objects: [String] = []
        for unit in units {
            let object = (unit.source as NSString).deletingPathExtension + ".o"
            let args = HelperBuild.commonFlags + defines + unit.flags + ["-c", unit.source, "-o", object]
            let r = try run(compiler, args, in: scratch)
            guard r.status == 0 else {
                throw .compileFailed(version: tree.version, step: "compiling \(unit.source)",
                                     firstErrors: HelperBuild.firstErrors(r.output))
            }
            objects.append(object)
        }
        let link = try run(compiler, objects + ["-o", "pgstore-kernel-helper"], in: scratch)
        guard link.status == 0 else {
            throw .compileFailed(version: tree.version, step: "linking", firstErrors: HelperBuild.firstErrors(link.output))
        }
    }

    /// The compiler's first error lines, with the line after each (the source it quotes).
    static func firstErrors(_ output: String, limit: Int = 8) -> [String] {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var picked: [String] = []
        for (i, line) in lines.enumerated() where line.contains("error") {
            picked.append(line)
            if i + 1 < lines.count, !lines[i + 1].contains("error") { picked.append(lines[i + 1]) }
            if picked.count >= limit { break }
        }
        return picked.isEmpty ? Array(lines.prefix(limit)) : Array(picked.prefix(limit))
    }

    private func run(_ tool: String, _ args: [String], in dir: URL?) throws(KernelError) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        if let dir { p.currentDirectoryURL = dir }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { throw .noCompiler(tried: tool) }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func resolve(_ name: String, path: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func cacheDirectory(_ env: [String: String]) -> URL {
        if let dir = env["PGSTORE_CACHE_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg).appending(path: "pgstore") }
        let home = env["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appending(path: ".cache/pgstore")
    }
}
