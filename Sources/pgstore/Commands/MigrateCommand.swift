import Foundation
import ArgumentParser
import PGStore

/// `pgstore migrate`: bring a history file to this pgstore's schema.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create a history file, or apply the migrations it lacks.",
        discussion: "Files made by a newer pgstore, and files that are not pgstore histories, are refused and left untouched."
    )

    @Argument(help: "The history file.")
    var file: String

    func run() throws {
        do {
            let store = try HistoryStore(path: file, mode: .write)
            let applied = try store.appliedMigrations()
            let from = store.upgradedFrom
            let free = from == nil ? 0 : try store.freeBytes()
            store.close()
            let upgraded = from.map { "; upgraded from schema version \($0)" } ?? ""
            print("\(file): schema version \(applied.count) (\(applied.joined(separator: ", ")))\(upgraded)")
            if free > 0 {
                // Rebuilt tables (0010, 0012) leave their old pages free in the file.
                print("\(file): \(Self.size(free)) of pages the upgrade freed stay in the file, reused by later recordings; "
                      + "`sqlite3 \(file) VACUUM` returns them to the file system")
            }
        } catch {
            throw PgstoreError(error.description)
        }
    }

    /// 512 KiB, 1.2 MiB, 3.4 GiB.
    static func size(_ bytes: Int64) -> String {
        let kib = Double(bytes) / 1024
        if kib < 1024 { return "\(Int(kib.rounded(.up))) KiB" }
        let mib = kib / 1024
        if mib < 1024 { return String(format: "%.1f MiB", mib) }
        return String(format: "%.1f GiB", mib / 1024)
    }
}
