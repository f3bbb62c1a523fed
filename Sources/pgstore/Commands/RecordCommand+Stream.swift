import ArgumentParser
import Foundation
import PGEngine
import PGStore

/// `record -` and `record --follow FILE`: a workload read as it arrives.
extension RecordCommand {
    func recordStream() throws {
        if input != nil && input != "-" {
            throw PgstoreError("give either INPUT or --follow FILE, not both")
        }
        if generate != nil { throw PgstoreError("give either a stream (- or --follow) or --generate, not both") }
        let follow = self.follow.map { $0 == "-" ? nil : $0 }
        let source = try LineSource(path: follow ?? nil, follow: self.follow != nil)
        let stream = try StreamInput(source: source, from: from, lenient: lenient)
        Interrupt.install()
        // Followed, a signal is how the stream ends: the run ends complete.
        if self.follow != nil { stream.shouldEnd = { Interrupt.wasRequested } }
        guard try stream.prepare() else {
            FileHandle.standardError.write(Data("pgstore: \(source.name): stopped before any input; nothing recorded\n".utf8))
            return
        }
        let kind: RunInfo.SourceKind = stream.format == .ftrace ? .ftrace : .script
        let header = stream.format == .script ? stream.header : nil
        let stopRequest: () -> String? = self.follow != nil ? { nil } : { Interrupt.reason }

        if let run = continueRun {
            let (store, info, geometry) = try openContinuation(run, script: header)
            defer { store.close() }
            let taken = Set(try Stores.run { try store.snapshotNames(in: run) })
            let steps = stream.steps(geometry: geometry, validate: !kernelErrors, taken: taken)
            let outcome = try append(steps, to: info, in: store, source: WorkloadSource(kind: kind, description: source.name, sha256: ""),
                                     failOnCallError: stream.format == .ftrace, finalSourceHash: { source.digest.hex },
                                     progress: Progress(label: info.label, position: { Self.position(source) }),
                                     stopRequest: stopRequest)
            if let note = stream.note { FileHandle.standardError.write(Data((note + "\n").utf8)) }
            return try Self.finish(outcome, label: info.label)
        }

        var setup = try ResolvedSetup(script: header, options: options, strategy: nil)
        let external = try kernelBackend(setup: &setup)
        let strategies = external == nil ? try Self.strategies(strategy, default: setup.scriptStrategy) : [Strategy.eager]
        guard strategies.count == 1 else {
            throw PgstoreError("--strategy \(strategy ?? ""): a stream is read once, so it is recorded under one strategy; "
                               + "record it to a file and record that under several")
        }
        let steps = stream.steps(geometry: setup.geometry, validate: !kernelErrors, taken: [])
        print(Self.describe(setup.config, geometry: setup.geometry))
        let store = try Stores.write(database.path)
        defer { store.close() }
        Self.noteUpgrade(store)
        var recording = RunRecording(config: setup.config, strategy: strategies[0],
                                     source: WorkloadSource(kind: kind, description: source.name, sha256: ""),
                                     pgstoreVersion: Pgstore.version)
        recording.batchSize = Int64(batch)
        recording.checkpointEvery = checkpointEvery
        recording.failOnCallError = stream.format == .ftrace
        recording.lenient = lenient
        recording.finalSourceHash = { source.digest.hex }
        recording.external = external
        let outcome = try Self.record(recording, into: store, steps: steps,
                                      progress: Progress(label: recording.label, position: { Self.position(source) }),
                                      stopRequest: stopRequest)
        if let note = stream.note { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        try Self.finish(outcome, label: recording.label)
    }

    /// Where a stream is, for the progress line.
    static func position(_ source: LineSource) -> String {
        "line \(groupDigits(Int64(source.linesRead))) of \(source.name) (\(formatSize(UInt64(source.bytesRead))))"
    }
}
