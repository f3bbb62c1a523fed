import ArgumentParser
import Foundation
import PGEngine
import PGSources
import PGStore

/// `pgstore demo`: the seed thread's case recorded under every strategy, compared from the history.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Record the seed thread's scatter-gather list (4,096 scattered 4 KiB pages) under every strategy and compare the cleans.",
        discussion: """
        Mapping a long scatter-gather list 4 KiB at a time cleans each 64-byte line of leaf \
        descriptors once per descriptor, eight times; the strategies of the thread clean it once. \
        Each strategy's run is recorded into the history file (unless --db is given, pgstore-demo-UID/demo.pgdb in the temporary directory, replaced by each demo) \
        and the comparison is read back from it: clean calls, lines cleaned, lines per mapped page, \
        redundant cleans (a line cleaned again), the most any line was cleaned, and stale findings.
        """
    )

    @Option(name: .customLong("db"), help: ArgumentHelp("Record into this history file (default: a temporary file).", valueName: "FILE"))
    var database: String?

    @Option(help: "Pages in the scatter-gather list.")
    var pages: Int = 4096

    @Option(help: "Seed for the scattered physical placement.")
    var seed: UInt64 = 1

    func run() throws {
        guard pages > 0, pages <= 1 << 24 else { throw PgstoreError("--pages \(pages): expected 1 to 16777216") }
        let path: String
        if let database {
            path = database
        } else {
            // One directory per user, reused: each demo replaces the last one's
            // history and report instead of leaving a directory per run.
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgstore-demo-\(getuid())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            path = dir.appendingPathComponent("demo.pgdb").path
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("demo.html"))
        }
        let spec = GeneratorSpec.scatterGather(pages: pages, placement: .random, seed: seed)
        let store: HistoryStore
        do { store = try HistoryStore(path: path, mode: .write) } catch { throw PgstoreError(error.description) }
        defer { store.close() }
        print("pgstore demo: map_sg of \(pages) scattered 4 KiB pages; stage 1, 4K granule, 48-bit IAS/OAS, non-coherent walk, 64-byte lines")
        var summaries: [StrategySummary] = []
        do {
            for strategy in Strategy.comparisonOrder {
                let source = WorkloadSource(kind: .generator, description: spec.description,
                                            sha256: WorkloadInput.sha256(Data(spec.description.utf8)))
                let recording = RunRecording(config: .default, strategy: strategy, source: source, pgstoreVersion: Pgstore.version)
                let steps = try spec.calls(geometry: try Geometry(.default)).lazy.map { WorkloadStep.call($0, line: 0) }
                let outcome = try recording.record(into: store, steps: steps)
                summaries.append(try store.summary(of: outcome.run))
            }
        } catch let error as StoreError {
            throw PgstoreError(error.description)
        }
        print("")
        let header = ["run", "strategy", "clean calls", "lines cleaned", "lines/page", "redundant", "max/line", "stale findings"]
        let rows = summaries.map { s in
            ["\(s.run)", s.strategy, "\(s.cleanCalls)", "\(s.linesCleaned)", String(format: "%.3f", s.linesPerMappedPage),
             "\(s.redundantLines)", "\(s.maxCleansPerLine)", "\(s.staleFindings)"]
        }
        print(TextTable(header: header, rows: rows, rightAligned: Set([0] + Array(2..<header.count))).render())
        print("")
        print("history: \(path)")
        store.close()
        print("report: " + (try ReportCommand.write(database: path, runs: [], out: nil)))
    }
}
