import ArgumentParser
import Foundation
import PGStore

/// `pgstore report`: one self-contained HTML page.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML page of what each run cost and where it went wrong.",
        discussion: """
        Runs grouped by workload as compare groups them: per workload a summary table with each \
        run's status and ratios to the workload's first complete run (0 to 0 as –), bar charts of \
        lines per mapped page and clean calls; per run its segments, a heatmap of cleans per cache \
        line (line-index ticks, one colour per distinct count, a legend of exactly the counts \
        present, ranges labelled as such past ten counts), a timeline of writes and lines cleaned, \
        and every stale finding. Inline SVG and CSS only: no script, no network. The default output is the \
        history file's name with .html.
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "Runs to show (default: every run); each workload's first complete run among them is its baseline.")
    var runs: [Int64] = []

    @Option(help: ArgumentHelp("Where to write the page.", valueName: "FILE.html"))
    var out: String?

    func run() throws {
        let path = try Self.write(database: database.path, runs: runs, out: out)
        print(path)
    }

    /// Writes the report; returns its path.
    static func write(database: String, runs: [Int64], out: String?) throws -> String {
        let store = try Stores.read(database)
        defer { store.close() }
        let data = try Stores.run { try store.reportData(runs: runs) }
        let html = ReportPage.render(data, file: (database as NSString).lastPathComponent)
        let target = out ?? ((database as NSString).deletingPathExtension + ".html")
        do {
            try html.write(toFile: target, atomically: true, encoding: .utf8)
        } catch {
            throw PgstoreError("\(target): cannot write the report (\(ScriptFile.describe(error)))")
        }
        return target
    }
}
