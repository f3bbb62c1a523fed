import Foundation
import PGEngine
import PGSources
import PGStore

/// What `record` was asked to record: a script, an ftrace log or a generator,
/// resolved into steps per strategy.
struct WorkloadInput {
    enum Kind { case script(Script), ftrace(FtraceLog), generator(GeneratorSpec) }

    var kind: Kind
    var source: WorkloadSource
    /// The script, when the input is one.
    var script: Script? { if case .script(let s) = kind { return s } else { return nil } }

    static func sha256(_ data: Data) -> String { WorkloadSource.sha256(data) }

    static func load(path: String?, generate: String?, from: String?, lenient: Bool) throws -> WorkloadInput {
        switch (path, generate) {
        case (.some, .some):
            throw PgstoreError("give either an INPUT file or --generate, not both")
        case (.none, .none):
            throw PgstoreError("nothing to record: give an INPUT file (.pgs script or ftrace log) or --generate SPEC")
        case (.none, .some(let spec)):
            let parsed: GeneratorSpec
            do { parsed = try GeneratorSpec.parse(spec) } catch { throw PgstoreError(error.message) }
            return WorkloadInput(kind: .generator(parsed),
                                 source: WorkloadSource(kind: .generator, description: parsed.description,
                                                        sha256: sha256(Data(parsed.description.utf8))))
        case (.some(let path), .none):
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw PgstoreError("\(path): cannot read the input (\(ScriptFile.describe(error)))")
            }
            if data.isEmpty { throw PgstoreError("\(path): the input is empty") }
            let text = String(decoding: data, as: UTF8.self)
            let digest = sha256(data)
            let isFtrace: Bool
            switch from {
            case nil: isFtrace = FtraceParser.looksLikeFtrace(Substring(text))
            case "ftrace": isFtrace = true
            case "script", "pgs": isFtrace = false
            case let other?: throw PgstoreError("--from \(other): expected script or ftrace")
            }
            if isFtrace {
                do {
                    let log = try FtraceParser.parse(text, file: path, lenient: lenient)
                    if log.events.isEmpty {
                        throw PgstoreError("\(path): no iommu:map or iommu:unmap events in \(log.skippedLines + log.otherEvents) lines")
                    }
                    return WorkloadInput(kind: .ftrace(log), source: WorkloadSource(kind: .ftrace, description: path, sha256: digest))
                } catch let error as ScriptError {
                    throw PgstoreError(error.description)
                }
            }
            do {
                let script = try ScriptParser.parse(text, file: path)
                return WorkloadInput(kind: .script(script), source: WorkloadSource(kind: .script, description: path, sha256: digest))
            } catch {
                throw PgstoreError(error.description)
            }
        }
    }

    /// Checks every `snapshot` line before anything is recorded: each name must
    /// be one a snapshot can have, and given once in the script (names are
    /// unique within a run).
    func checkSnapshotNames() throws {
        guard let script else { return }
        var first: [String: SourceLocation] = [:]
        for statement in script.statements {
            guard case .snapshot(let name) = statement.command else { continue }
            if let problem = SnapshotName.problem(name) { throw PgstoreError("\(statement.location): \(problem)") }
            if let earlier = first[name] {
                throw PgstoreError("\(statement.location): snapshot \(name) is already named at line \(earlier.line); a run's snapshot names are unique")
            }
            first[name] = statement.location
        }
    }

    /// Checks the input against a geometry before anything is recorded.
    func validate(geometry: Geometry) throws {
        if case .script(let script) = kind {
            do { try ScriptValidator.validate(script, geometry: geometry) } catch { throw PgstoreError(error.description) }
        }
        if case .ftrace(let log) = kind {
            for event in log.events {
                if let problem = ScriptValidator.check(event.call, geometry: geometry) {
                    throw PgstoreError("\(source.description):\(event.line): \(event.call.kind == .iommuMap ? "map" : "unmap"): \(problem)")
                }
            }
        }
    }

    /// The steps to record.
    func steps(geometry: Geometry) throws -> AnySequence<WorkloadStep> {
        switch kind {
        case .script(let script):
            return AnySequence(script.statements.lazy.compactMap { statement -> WorkloadStep? in
                switch statement.command {
                case .call(let call): return .call(call, line: statement.location.line, column: statement.location.column)
                case .snapshot(let name): return .snapshot(name, line: statement.location.line)
                case .dump, .stale: return nil
                }
            })
        case .ftrace(let log):
            guard !log.gaps.isEmpty else {
                return AnySequence(log.events.lazy.map { WorkloadStep.call($0.call, line: $0.line, column: $0.column) })
            }
            // Each lost-events marker goes where it was read, between the events.
            var steps: [WorkloadStep] = []
            steps.reserveCapacity(log.events.count + log.gaps.count)
            var next = 0
            func gapsBefore(_ index: Int) {
                while next < log.gaps.count && log.gaps[next].beforeEvent <= index {
                    let g = log.gaps[next]
                    steps.append(.gap(cpu: g.cpu, lost: g.lost, marker: g.marker, line: g.line))
                    next += 1
                }
            }
            for (i, event) in log.events.enumerated() {
                gapsBefore(i)
                steps.append(.call(event.call, line: event.line, column: event.column))
            }
            gapsBefore(Int.max)
            return AnySequence(steps)
        case .generator(let spec):
            do {
                return AnySequence(try spec.calls(geometry: geometry).lazy.map { WorkloadStep.call($0, line: 0) })
            } catch {
                throw PgstoreError(error.message)
            }
        }
    }

    /// The workload's work for progress (``RunRecording/work(of:granule:)``),
    /// without building a generated scatter-gather list twice.
    func totalWork(_ steps: AnySequence<WorkloadStep>, granule: UInt64) -> Int64 {
        if case .generator(.scatterGather(let pages, _, _)) = kind { return Int64(max(pages, 1)) }
        return steps.reduce(Int64(0)) { $0 + RunRecording.work(of: $1, granule: granule) }
    }

    var isReplay: Bool { if case .ftrace = kind { return true } else { return false } }
}
