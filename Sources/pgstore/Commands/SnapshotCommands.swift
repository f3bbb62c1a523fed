import ArgumentParser
import PGStore

/// `pgstore snapshot`: name a point.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Name a point of a history (default: the end of the last run).",
        discussion: "A point is a snapshot name, RUN:SEQ (the state after event SEQ of run RUN), RUN:latest, or latest. Names are unique in a file; a clash is an error."
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "The name to give.")
    var name: String

    @Option(help: ArgumentHelp("The point to name.", valueName: "POINT"))
    var at: String = "latest"

    func run() throws {
        let store = try Stores.write(database.path)
        defer { store.close() }
        try Stores.run {
            let point = try store.resolve(at)
            try store.createSnapshot(name, at: point)
            print("snapshot \(name) = \(point)")
        }
    }
}

/// `pgstore snapshots`: the names in a file.
struct SnapshotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshots", abstract: "List the named points of a history.")

    @OptionGroup var database: DatabaseOption

    @Option(help: "Output format: \(TabularFormat.names).")
    var format: TabularFormat = .table

    func run() throws {
        let store = try Stores.read(database.path)
        defer { store.close() }
        let list = try Stores.run { try store.snapshots() }
        print(Tabular(columns: ["name", "run", "seq", "created"],
                      rows: list.map { [.text($0.name), .int($0.run), .int($0.seq), .text($0.createdAt)] }).render(format))
    }
}
