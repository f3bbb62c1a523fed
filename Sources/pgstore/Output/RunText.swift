import Foundation
import PGEngine
import PGSources

/// `pgstore run --format text`.
enum RunText {
    /// Prints as it goes; returns the number of stale descriptors at the end.
    /// `strategy` and `deferSyncPTE` name a kernel backend on the CONFIG line.
    static func write<Run: TracedScriptRun>(script: Script, run: Run, strategy: String? = nil,
                                            deferSyncPTE: Bool? = nil) throws -> Int {
        let text = TraceText(engine: run.state)
        var out = OutputBuffer()
        defer { out.flush() }
        out.line(text.configLine(strategy: strategy, deferSyncPTE: deferSyncPTE))
        out.lines(text.lines(run.traces[0]))
        for statement in script.statements {
            switch statement.command {
            case .call(let call): out.lines(text.lines(try run.step(call)))
            case .dump: out.lines(text.dump())
            case .stale: out.lines(text.staleLines())
            case .snapshot(let name): out.line("snapshot \(name) at seq \(run.seq)")
            }
        }
        out.lines(text.dump())
        let stale = run.state.staleEntryCount()
        out.line("STALE_AT_END \(stale)")
        out.line(text.statsLine(run.events))
        return stale
    }
}

/// Buffered standard output.
struct OutputBuffer {
    private var buffer: [UInt8] = []
    init() { buffer.reserveCapacity(1 << 16) }

    mutating func line(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func lines(_ ss: [String]) { for s in ss { line(s) } }

    mutating func write(_ s: some StringProtocol) { write(s.utf8) }

    mutating func write(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
