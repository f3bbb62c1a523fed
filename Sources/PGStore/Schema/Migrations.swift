import GRDB

/// The schema: the numbered SQL files of `migrations/`, embedded at build time.
public enum Schema {
    /// Identifiers of the migrations this pgstore knows, in order (`0001_initial`, ...).
    public static var identifiers: [String] { EmbeddedMigrations.all.map(\.identifier) }
    /// The schema version this pgstore writes: the number of migrations it knows.
    public static var version: Int { EmbeddedMigrations.all.count }
    /// `PRAGMA application_id` of a pgstore file ('pgst').
    public static let applicationID: Int32 = 0x7067_7374

    /// A migrator that applies the embedded migrations, each in its own transaction,
    /// recording each one in `grdb_migrations`.
    static func migrator(upTo last: String? = nil) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (identifier, sql) in EmbeddedMigrations.all {
            migrator.registerMigration(identifier) { db in
                try db.execute(sql: sql)
            }
            if identifier == last { break }
        }
        return migrator
    }

    /// The SQL of one migration.
    public static func sql(of identifier: String) -> String? {
        EmbeddedMigrations.all.first { $0.identifier == identifier }?.text
    }
}

extension HistoryStore {
    /// The migrations applied to this file, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
    }
}
