import Foundation

/// The fixtures under `Tests/Fixtures` (see its README).
enum SharedFiles {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let conformance: URL = packageRoot.appendingPathComponent("Tests/Fixtures/conformance")

    static func read(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8)
    }

    /// The kernel's recorded outputs, by file name.
    static func conformanceOutputs() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: conformance.appendingPathComponent("out").path)
            .filter { $0.hasSuffix(".txt") }.sorted()
    }
}
