import Foundation
import PackagePlugin

/// Embeds the text files a target's binary needs as Swift, so `migrations/`
/// and the kernel shim stay the only sources of what they hold:
/// - PGStore: `migrations/*.sql` as `EmbeddedMigrations` (named without `.sql`);
/// - PGKernel: `Sources/PGKernel/shim/**` as `EmbeddedShim` (named by path).
@main
struct EmbedFiles: BuildToolPlugin {
    struct Embedding {
        let enumName: String
        let root: URL
        let extensions: Set<String>
        let stripExtension: Bool
    }

    func embedding(for target: Target, in context: PluginContext) throws -> Embedding {
        let package = context.package.directoryURL
        switch target.name {
        case "PGStore":
            return Embedding(enumName: "EmbeddedMigrations", root: package.appending(path: "migrations"),
                             extensions: ["sql"], stripExtension: true)
        case "PGKernel":
            return Embedding(enumName: "EmbeddedShim", root: package.appending(path: "Sources/PGKernel/shim"),
                             extensions: ["c", "h"], stripExtension: false)
        default:
            throw PluginError.noEmbedding(target.name)
        }
    }

    enum PluginError: Error, CustomStringConvertible {
        case noEmbedding(String)
        var description: String {
            switch self {
            case .noEmbedding(let name): return "EmbedFiles knows nothing to embed for target \(name)"
            }
        }
    }

    /// Files under `root` with one of the extensions, and every directory on the way (inputs, so a new file rebuilds).
    func files(under root: URL, extensions: Set<String>) -> (files: [URL], directories: [URL]) {
        var files: [URL] = [], directories: [URL] = [root]
        let keys: [URLResourceKey] = [.isDirectoryKey]
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else { return ([], []) }
        for case let url as URL in walker {
            if (try? url.resourceValues(forKeys: Set(keys)).isDirectory) == true {
                directories.append(url)
            } else if extensions.contains(url.pathExtension) {
                files.append(url)
            }
        }
        return (files.sorted { $0.path < $1.path }, directories)
    }

    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let e = try embedding(for: target, in: context)
        let found = files(under: e.root, extensions: e.extensions)
        let output = context.pluginWorkDirectoryURL.appending(path: "\(e.enumName).swift")
        var arguments = [e.enumName, e.root.path, output.path]
        if e.stripExtension { arguments.append("--strip-extension") }
        return [
            .buildCommand(
                displayName: "Embedding \(found.files.count) files as \(e.enumName)",
                executable: try context.tool(named: "embed-files").url,
                // The tool finds the files itself; they and the directories are
                // inputs so that an edit, or a file added, runs it again.
                arguments: arguments + e.extensions.sorted(),
                inputFiles: found.files + found.directories,
                outputFiles: [output]
            )
        ]
    }
}
