import ArgumentParser
import Foundation
import PGEngine
import PGStore

/// `pgstore dump`: the tables at a point.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the page tables at a point, as a tree from the root.",
        discussion: """
        Each non-empty entry is decoded: leaves with the IOVA range they map, output address and \
        attributes (in the vocabulary of arm64 ptdump: RW/ro, NX, SHD, AF, NG, MEM/NORMAL...), table \
        descriptors with the table they point to. Entries on a dirty cache line are marked `dirty`; \
        entries the device would read differently from the CPU are marked STALE with what memory holds. \
        With --iova, only the tables over the range and their entries that meet it are shown (the counts \
        in the first line stay the whole state's): a point in a long map_sg holds millions of entries.
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "The point: RUN:SEQ, RUN:latest, RUN:NAME, NAME or latest.")
    var point: String = "latest"

    @Option(help: "Output format: text or json.")
    var format: RunCommand.OutputFormat = .text

    @Option(help: "Whose values to show: cpu (what the CPU wrote) or memory (what the SMMU reads).")
    var view: View = .cpu

    @Option(name: .customLong("iova"), help: ArgumentHelp(IOVAWindow.help, valueName: "RANGE"), transform: IOVAWindow.parse)
    var window: IOVAWindow?

    enum View: String, ExpressibleByArgument, CaseIterable { case cpu, memory }

    func run() throws {
        let store = try Stores.read(database.path)
        defer { store.close() }
        let (p, info, engine) = try Stores.run { () throws -> (Point, RunInfo, IOPageTable<NullSink>) in
            let p = try store.resolve(point)
            // A window reads only the tables over it: a point in a long map_sg
            // then decodes those, not its millions of descriptors.
            let r = try window.map { try store.reconstruct(p, reading: ReadScope(iovaRanges: [$0.range])) } ?? store.reconstruct(p)
            return (p, r.run, r.engine)
        }
        switch format {
        case .json:
            // One table at a time: a point in a long map_sg has millions of entries.
            try JSONOutput.writeStreaming(head: DumpJSON.Head(run: info.id, seq: p.seq, strategy: info.label, iova: window?.description), key: "tables",
                                          elements: engine.liveTablesInOrder(within: window?.range).lazy.map {
                                              TablesJSON.table($0, of: engine, memoryView: view == .memory, window: window)
                                          },
                                          tail: DumpJSON.Tail(view: view.rawValue), append: TableJSONWriter.append)
        case .text:
            var out = OutputBuffer()
            TreeDump.write(engine, header: "run \(info.id) (\(info.label), \(RunsCommand.describe(info.config))) at seq \(p.seq)",
                           memoryView: view == .memory, window: window, to: &out)
            out.flush()
        }
    }

    /// The document, its keys sorted: `iova` (with --iova: the range
    /// shown), `run`, `seq`, `strategy`, then `tables` (written one by one,
    /// JSONOutput.writeStreaming), then `view`.
    enum DumpJSON {
        struct Head: Encodable {
            var run: Int64
            var seq: Int64
            var strategy: String
            var iova: String?
        }
        struct Tail: Encodable {
            var view: String
        }
    }
}
