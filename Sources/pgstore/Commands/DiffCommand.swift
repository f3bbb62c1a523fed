import ArgumentParser
import Foundation
import PGEngine
import PGStore

/// `pgstore diff`: what changed between two points.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed from point A to point B.",
        discussion: """
        Descriptor level: each table entry whose value differs, with its table path, index, level, \
        IOVA range, and old and new values decoded. Mapping level: IOVA ranges mapped, unmapped, \
        remapped to another address, or changed in permissions, merged into runs. Both also give \
        the cleans and TLB invalidations between the points (same run) and the dirty lines at each. \
        A and B may be in different runs that share a table configuration (to compare two \
        strategies' end states). Exit status 0 whether or not anything changed.
        """
    )

    @OptionGroup var database: DatabaseOption

    @Argument(help: "The point to diff from.")
    var a: String

    @Argument(help: "The point to diff to.")
    var b: String

    @Option(help: "Output format: text or json.")
    var format: RunCommand.OutputFormat = .text

    @Option(help: "descriptor or mapping.")
    var level: Level = .descriptor

    enum Level: String, ExpressibleByArgument, CaseIterable { case descriptor, mapping }

    func run() throws {
        let store = try Stores.read(database.path)
        defer { store.close() }
        let diff = try Stores.run { try store.diff(try store.resolve(a), try store.resolve(b)) }
        switch format {
        case .text:
            var out = OutputBuffer()
            out.lines(DiffText.lines(diff, level: level))
            out.flush()
        case .json:
            try JSONOutput.write(DiffJSON(diff, level: level))
        }
    }
}

enum DiffText {
    static func lines(_ d: HistoryDiff, level: DiffCommand.Level) -> [String] {
        var out = ["diff \(d.from) -> \(d.to) (\(level.rawValue) level)"]
        switch level {
        case .descriptor:
            if d.comparison == .childPath {
                out.append("across runs, table descriptors are compared by the child's path and their value with the address cleared "
                           + "(shown as \"normalised\"): each run allocated its tables apart")
            }
            for c in d.descriptors {
                out.append("\(c.table) [\(c.index)] L\(c.level) \(hex16(c.iova))-\(hex16(c.iova &+ c.size &- 1)): "
                           + "\(describe(c.old, child: c.oldChild, normalised: c.oldNormalised, level: c.level, d.format)) -> "
                           + "\(describe(c.new, child: c.newChild, normalised: c.newNormalised, level: c.level, d.format))")
            }
            out.append("\(d.descriptors.count) descriptors changed")
        case .mapping:
            for m in d.mappings {
                let range = "\(hex16(m.iova))-\(hex16(m.iova &+ m.size &- 1)) \(formatSize(m.size))"
                switch m.kind {
                case .mapped: out.append("+ \(range) -> \(hex(m.newPA ?? 0)) \(m.newAttributes.joined(separator: " "))")
                case .unmapped: out.append("- \(range) (was -> \(hex(m.oldPA ?? 0)) \(m.oldAttributes.joined(separator: " ")))")
                case .remapped: out.append("~ \(range) -> \(hex(m.newPA ?? 0)) (was \(hex(m.oldPA ?? 0))) \(m.newAttributes.joined(separator: " "))")
                case .protection: out.append("! \(range) -> \(hex(m.newPA ?? 0)) \(m.oldAttributes.joined(separator: " ")) => \(m.newAttributes.joined(separator: " "))")
                }
            }
            out.append("\(d.mappings.count) mapping changes")
        }
        if let cleans = d.cleanCalls, let lines = d.linesCleaned, let inv = d.invalidations {
            let names = ["flush_all", "flush_walk", "inv_range_leaf", "add_page"]
            out.append("between: \(cleans) clean calls (\(lines) lines); TLB: " + names.map { "\($0) \(inv[$0] ?? 0)" }.joined(separator: ", "))
        }
        out.append("dirty lines: \(d.dirtyLinesFrom) at \(d.from), \(d.dirtyLinesTo) at \(d.to); stale entries: \(d.staleFrom), \(d.staleTo)")
        return out
    }

    static func describe(_ value: UInt64, child: String?, normalised: UInt64?, level: Int, _ f: DescriptorFormat) -> String {
        if value == 0 { return "0 (invalid)" }
        if let child {
            let normal = normalised.map { ", normalised \(hex16($0))" } ?? ""
            return "\(hex16(value)) (table \(hex(f.outputAddress(value))) -> \(child)\(normal))"
        }
        let d = f.decode(value, level: level)
        return "\(hex16(value)) (\(d.kind.rawValue) \(hex(d.outputAddress)) \(d.attributes.joined(separator: " ")))"
    }
}

struct DiffJSON: Encodable {
    var from: String
    var to: String
    var level: String
    /// How table descriptors were compared: "written" (one run) or "child path" (two runs).
    var comparison: String?
    var descriptors: [Descriptor]?
    var mappings: [Mapping]?
    var cleanCalls: Int64?
    var linesCleaned: Int64?
    var invalidations: [String: Int64]?
    var dirtyLines: [String: Int]
    var staleEntries: [String: Int]

    struct Descriptor: Encodable {
        var table: String, index: Int, level: Int, iova: String, size: String, old: String, new: String
        var oldChild: String?, newChild: String?, oldType: String, newType: String
        /// Table descriptors compared by path: the value with the table address cleared.
        var oldNormalised: String?, newNormalised: String?
    }

    struct Mapping: Encodable {
        var change: String, iova: String, size: String, oldPA: String?, newPA: String?, oldAttributes: [String], newAttributes: [String]
    }

    init(_ d: HistoryDiff, level: DiffCommand.Level) {
        from = "\(d.from)"
        to = "\(d.to)"
        self.level = level.rawValue
        if level == .descriptor {
            descriptors = d.descriptors.map { c in
                Descriptor(table: c.table, index: c.index, level: c.level, iova: hex(c.iova), size: hex(c.size), old: hex16(c.old), new: hex16(c.new),
                           oldChild: c.oldChild, newChild: c.newChild,
                           oldType: c.oldChild != nil ? "table" : d.format.decode(c.old, level: c.level).kind.rawValue,
                           newType: c.newChild != nil ? "table" : d.format.decode(c.new, level: c.level).kind.rawValue,
                           oldNormalised: c.oldNormalised.map(hex16), newNormalised: c.newNormalised.map(hex16))
            }
            comparison = d.comparison.rawValue
        } else {
            mappings = d.mappings.map { m in
                Mapping(change: m.kind.rawValue, iova: hex(m.iova), size: hex(m.size), oldPA: m.oldPA.map(hex), newPA: m.newPA.map(hex),
                        oldAttributes: m.oldAttributes, newAttributes: m.newAttributes)
            }
        }
        cleanCalls = d.cleanCalls
        linesCleaned = d.linesCleaned
        invalidations = d.invalidations
        dirtyLines = ["from": d.dirtyLinesFrom, "to": d.dirtyLinesTo]
        staleEntries = ["from": d.staleFrom, "to": d.staleTo]
    }
}
