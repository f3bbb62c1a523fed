import ArgumentParser
import Foundation
import PGEngine
import PGStore

/// `pgstore restore`: a point as the start of a new run.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Start a new run whose initial state is the state at a point.",
        discussion: """
        The new run goes into --into (which may be the same file); nothing is rewritten or deleted. \
        Continue it with `pgstore record --db FILE2 --continue RUN INPUT`, optionally under another \
        strategy chosen here. The point must lie between calls.
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "The point to restore.")
    var point: String

    @Option(help: ArgumentHelp("The history file to start the new run in.", valueName: "FILE2"))
    var into: String

    @Option(help: ArgumentHelp("Strategy of the new run: \(Strategy.allValueStrings.joined(separator: ", ")) (default: the original's).",
                               valueName: "strategy"))
    var strategy: String?

    func run() throws {
        let strategy = try self.strategy.map { try parseStrategy($0) }
        let source = try Stores.read(database.path)
        defer { source.close() }
        let p = try Stores.run { try source.resolve(point) }
        let sameFile = URL(fileURLWithPath: into).standardizedFileURL.path == URL(fileURLWithPath: database.path).standardizedFileURL.path
        let target = sameFile ? try Stores.write(database.path) : try Stores.write(into)
        defer { target.close() }
        let run = try Stores.run { try source.restore(p, into: target, strategy: strategy) }
        print("run \(run) in \(into) starts from \(database.path) at \(p)")
    }
}
