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
            store.close()
            let upgraded = from.map { "; upgraded from schema version \($0)" } ?? ""
            print("\(file): schema version \(applied.count) (\(applied.joined(separator: ", ")))\(upgraded)")
        } catch {
            throw PgstoreError(error.description)
        }
    }
}
