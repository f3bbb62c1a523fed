import Foundation
import PGEngine
import PGSources
import PGStore

/// A workload read as a stream (`-`, `--follow FILE`): a script or an ftrace
/// log, recognised by its first lines as a file is, and turned into steps line
/// by line as it arrives. Everything a file gets checked before it is recorded
/// is checked here line by line; a bad line ends the run as failed, with its
/// file:line:column.
final class StreamInput {
    enum Format: String { case script, ftrace }

    let source: LineSource
    let lenient: Bool
    private(set) var format: Format?
    /// The config line of a script stream (read before its first statement).
    private(set) var header = Script()
    /// Lines read while recognising the stream, to be parsed as steps.
    private var lookahead: [String] = []
    private var pendingStatement: ScriptStatement?
    private var scriptParser: ScriptParser.StreamParser
    private var ftraceParser: FtraceParser.StreamParser
    private var lineNumber = 0
    private(set) var iommuEvents = 0
    private(set) var gaps: [FtraceGap] = []
    /// Whether the stream should end now (follow mode: a signal ends it).
    var shouldEnd: () -> Bool = { false }

    init(source: LineSource, from: String?, lenient: Bool) throws {
        self.source = source
        self.lenient = lenient
        scriptParser = ScriptParser.StreamParser(file: source.name)
        ftraceParser = FtraceParser.StreamParser(file: source.name, lenient: lenient)
        switch from {
        case nil: format = nil
        case "ftrace": format = .ftrace
        case "script", "pgs": format = .script
        case let other?: throw PgstoreError("--from \(other): expected script or ftrace")
        }
    }

    /// Reads until the stream's format, and a script's config, are known.
    /// False when the stream ended (or was stopped) before saying anything.
    func prepare() throws -> Bool {
        while true {
            switch source.next() {
            case .idle:
                if shouldEnd() { return false }
            case .end:
                if lookahead.isEmpty && source.bytesRead == 0 { throw PgstoreError("\(source.name): the input is empty") }
                if format == nil { format = .script }
                return true
            case .line(let line):
                if format == nil { format = Self.recognise(line) }
                switch format {
                case nil:
                    lookahead.append(line)
                case .ftrace:
                    lookahead.append(line)
                    return true
                case .script:
                    // Parse up to the first statement: the config must be known before the run starts.
                    for earlier in lookahead + [line] {
                        lineNumber += 1
                        do {
                            if let statement = try scriptParser.parse(earlier) {
                                pendingStatement = statement
                            }
                        } catch {
                            throw PgstoreError(error.description)
                        }
                    }
                    lookahead.removeAll()
                    header = scriptParser.script
                    if pendingStatement != nil { return true }
                }
            }
        }
    }

    /// A line's verdict on the format: nil while it says nothing (blank lines, `#` comments).
    static func recognise(_ line: String) -> Format? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if trimmed.isEmpty { return nil }
        if trimmed.hasPrefix("# tracer:") || trimmed.hasPrefix("cpus=") { return .ftrace }
        if trimmed.hasPrefix("#") { return nil }
        if FtraceParser.looksLikeFtrace(Substring(line)) { return .ftrace }
        let word = trimmed.prefix { $0 != " " && $0 != "\t" }
        return ScriptParser.keywords.contains(String(word)) ? .script : .ftrace
    }

    /// The steps, as lines arrive. `taken`: snapshot names the run already has.
    func steps(geometry: Geometry, validate: Bool, taken: Set<String>) -> AnySequence<WorkloadStep> {
        var finished = false
        var names = taken
        var firstSeen: [String: Int] = [:]
        return AnySequence(AnyIterator { [self] () -> WorkloadStep? in
            while !finished {
                if let statement = pendingStatement {
                    pendingStatement = nil
                    if let step = step(for: statement, geometry: geometry, validate: validate, names: &names, firstSeen: &firstSeen) {
                        return step
                    }
                    continue
                }
                let line: String
                if !lookahead.isEmpty {
                    line = lookahead.removeFirst()
                } else {
                    switch source.next() {
                    case .idle:
                        if shouldEnd() { finished = true; return nil }
                        return .idle
                    case .end:
                        finished = true
                        return nil
                    case .line(let l):
                        line = l
                    }
                }
                lineNumber += 1
                switch format ?? .script {
                case .script:
                    do {
                        if let statement = try scriptParser.parse(line) { pendingStatement = statement }
                    } catch {
                        finished = true
                        return .failure(String(describing: error))
                    }
                case .ftrace:
                    do {
                        switch try ftraceParser.parse(line, number: lineNumber) {
                        case .event(let event):
                            iommuEvents += 1
                            if validate, let problem = ScriptValidator.check(event.call, geometry: geometry) {
                                finished = true
                                return .failure("\(source.name):\(event.line): \(event.call.kind == .iommuMap ? "map" : "unmap"): \(problem)")
                            }
                            return .call(event.call, line: event.line, column: event.column)
                        case .gap(let gap):
                            gaps.append(gap)
                            return .gap(cpu: gap.cpu, lost: gap.lost, marker: gap.marker, line: gap.line)
                        case .skipped:
                            continue
                        }
                    } catch {
                        finished = true
                        return .failure(String(describing: error))
                    }
                }
            }
            return nil
        })
    }

    private func step(for statement: ScriptStatement, geometry: Geometry, validate: Bool,
                      names: inout Set<String>, firstSeen: inout [String: Int]) -> WorkloadStep? {
        let at = statement.location
        switch statement.command {
        case .call(let call):
            if validate, let problem = ScriptValidator.check(call, geometry: geometry) {
                return .failure("\(at): \(call.kind.rawValue): \(problem)")
            }
            return .call(call, line: at.line, column: at.column)
        case .snapshot(let name):
            if let problem = SnapshotName.problem(name) { return .failure("\(at): \(problem)") }
            if let earlier = firstSeen[name] {
                return .failure("\(at): snapshot \(name) is already named at line \(earlier); a run's snapshot names are unique")
            }
            if names.contains(name) { return .failure("\(at): the run already has a snapshot named \"\(name)\"") }
            names.insert(name)
            firstSeen[name] = at.line
            return .snapshot(name, line: at.line)
        case .dump, .stale:
            return nil
        }
    }

    /// What the stream held besides iommu events, for the closing note.
    var note: String? {
        guard format == .ftrace else { return nil }
        let log = ftraceParser.log
        var s = "\(source.name): \(groupDigits(Int64(iommuEvents))) iommu events in \(groupDigits(Int64(source.linesRead))) lines"
        s += "; skipped \(groupDigits(Int64(log.otherEvents))) other events and \(groupDigits(Int64(log.skippedLines - log.otherEvents - gaps.count))) other lines"
        if !log.warnings.isEmpty { s += "; \(log.warnings.count) malformed lines ignored (--lenient)" }
        if !gaps.isEmpty {
            s += "; \(gaps.count) lost-events marker\(gaps.count == 1 ? "" : "s") (first at line \(gaps[0].line): \(gaps[0].marker)): "
            s += "findings after it may be incomplete"
        }
        return s
    }
}
