import ArgumentParser

/// The `pgstore` command: one subcommand per job.
struct Pgstore: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "pgstore",
        abstract: "Model Arm SMMU IO page tables, their cache maintenance and TLB, bit for bit as Linux builds them.",
        discussion: """
        Exit status: 0 when all is well, 1 when findings were reported (for example stale \
        descriptors), 2 for usage and input errors.
        """,
        version: version,
        subcommands: [DemoCommand.self, RunCommand.self, RecordCommand.self, CheckKernelCommand.self, RunsCommand.self, SnapshotCommand.self, SnapshotsCommand.self,
                      DumpCommand.self, DiffCommand.self, RestoreCommand.self, StaleCommand.self, QueryCommand.self,
                      StatsCommand.self, CompareCommand.self, ReportCommand.self, MigrateCommand.self]
    )
}

/// An error pgstore reports itself: a message that says what and where, and an exit code.
struct PgstoreError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32 = 2
    init(_ message: String, exitCode: Int32 = 2) {
        self.message = message
        self.exitCode = exitCode
    }
    var description: String { message }
}
