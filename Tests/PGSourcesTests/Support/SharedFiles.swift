import Foundation

/// The fixtures under `Tests/Fixtures` (see its README); the part of
/// PGEngineTests' `SharedFiles` the source tests read.
enum SharedFiles {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let conformance: URL = packageRoot.appendingPathComponent("Tests/Fixtures/conformance")
}
