import Foundation
@testable import PGStore

enum Scratch {
    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgstore-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func file(_ name: String = "h.pgdb") throws -> String {
        try directory().appendingPathComponent(name).path
    }

    /// Every byte of a file and its -wal/-shm companions, for "untouched" checks.
    static func snapshot(_ path: String) -> [String: Data] {
        var out: [String: Data] = [:]
        for suffix in ["", "-wal", "-shm"] {
            if let d = FileManager.default.contents(atPath: path + suffix) { out[suffix] = d }
        }
        return out
    }
}
