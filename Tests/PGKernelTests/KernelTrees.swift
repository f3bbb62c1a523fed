import Foundation
import PGEngine
import PGSources
import Testing
@testable import PGKernel

/// The kernel trees the tests build from: `PGSTORE_KERNEL_SOURCE` (6.12) and
/// `PGSTORE_KERNEL_SOURCE_6_1`. Without them the kernel tests are reported as
/// not run, except under `CI=true`, where they run and fail.
enum KernelTrees {
    static let environment = ProcessInfo.processInfo.environment
    static var v6_12: String? { environment["PGSTORE_KERNEL_SOURCE"].flatMap { $0.isEmpty ? nil : $0 } }
    static var v6_1: String? { environment["PGSTORE_KERNEL_SOURCE_6_1"].flatMap { $0.isEmpty ? nil : $0 } }
    static var inCI: Bool { environment["CI"] == "true" }

    static let missing612: Comment = "set PGSTORE_KERNEL_SOURCE to a 6.12 tree (drivers/iommu, include, Makefile; see .ci/run) to run the kernel tests"
    static let missing61: Comment = "set PGSTORE_KERNEL_SOURCE_6_1 to a 6.1 tree to run the 6.1 tests"

    /// The tests' own helper cache, so they leave the user's alone.
    static let cache = FileManager.default.temporaryDirectory.appending(path: "pgstore-kernel-tests-cache").path

    static var buildEnvironment: [String: String] {
        var env = environment
        env["PGSTORE_CACHE_DIR"] = cache
        return env
    }

    static func helper(_ path: String) throws -> HelperBuild.Binary {
        try HelperBuild(tree: try KernelTree(path: path), environment: buildEnvironment).helper()
    }

    /// Copies the files a helper build reads from a tree into a new directory.
    static func copyOfBuildFiles(_ path: String) throws -> URL {
        let dest = FileManager.default.temporaryDirectory.appending(path: "pgstore-tree-\(UUID().uuidString)")
        for file in KernelTree.sourceFiles + KernelTree.optionalFiles + ["Makefile"] {
            let from = URL(fileURLWithPath: path).appending(path: file)
            guard FileManager.default.fileExists(atPath: from.path) else { continue }
            let to = dest.appending(path: file)
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: from, to: to)
        }
        return dest
    }
}

/// The conformance workloads and their configurations (from the CONFIG line of each recorded output).
enum Workloads {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures/conformance")

    static var outputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.appending(path: "out").path)) ?? [])
            .filter { $0.hasSuffix(".txt") }.sorted()
    }

    static func load(_ output: String) throws -> (config: PageTableConfig, calls: [Call]) {
        let log = try String(contentsOf: root.appending(path: "out/\(output)"), encoding: .utf8)
        let configLine = log.split(separator: "\n").first { $0.hasPrefix("CONFIG ") } ?? ""
        var fields: [String: String] = [:]
        for f in configLine.split(separator: " ") {
            let kv = f.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        var config = PageTableConfig()
        config.stage = fields["fmt"] == "ARM_64_LPAE_S2" ? .two : .one
        let bitmap = UInt64(fields["pgsize_bitmap"]?.dropFirst(2) ?? "1000", radix: 16) ?? 0x1000
        config.granule = Granule(rawValue: 1 << UInt64(bitmap.trailingZeroBitCount)) ?? .size4K
        config.ias = Int(fields["ias"] ?? "48") ?? 48
        config.oas = Int(fields["oas"] ?? "48") ?? 48
        config.coherentWalk = fields["coherent_walk"] == "1"
        let name = String(output.split(separator: ".")[0]) + ".txt"
        let script = try ScriptParser.parse(try String(contentsOf: root.appending(path: name), encoding: .utf8), file: name)
        var calls: [Call] = []
        for statement in script.statements { if case .call(let c) = statement.command { calls.append(c) } }
        calls.append(Call(kind: .freeTables))
        return (config, calls)
    }
}
