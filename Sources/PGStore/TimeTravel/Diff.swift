import GRDB
import PGEngine

/// What changed from one point to another.
public struct HistoryDiff: Sendable {
    public struct DescriptorChange: Sendable, Hashable {
        public var table: String
        public var index: Int
        public var level: Int
        public var iova: UInt64
        public var size: UInt64
        /// The values as written (0: no valid entry).
        public var old: UInt64
        public var new: UInt64
        /// For a table descriptor, the path of the table it points to.
        public var oldChild: String?
        public var newChild: String?
        /// For a table descriptor compared by path: its value with the table address cleared.
        public var oldNormalised: UInt64?
        public var newNormalised: UInt64?
    }

    /// How table descriptors were compared.
    public enum Comparison: String, Sendable {
        /// One run: by the value written, so a table moved to another page is a change.
        case written
        /// Two runs: each run allocated its tables apart, so a table descriptor is
        /// compared by its child's path and its value with the address cleared.
        case childPath = "child path"
    }

    public enum MappingKind: String, Sendable { case mapped, unmapped, remapped, protection }

    public struct MappingChange: Sendable, Hashable {
        public var kind: MappingKind
        public var iova: UInt64
        public var size: UInt64
        public var oldPA: UInt64?
        public var newPA: UInt64?
        public var oldAttributes: [String]
        public var newAttributes: [String]
    }

    public var from: Point
    public var to: Point
    public var descriptors: [DescriptorChange]
    public var comparison: Comparison
    public var mappings: [MappingChange]
    /// Between the points, when they are in the same run.
    public var cleanCalls: Int64?
    public var linesCleaned: Int64?
    public var invalidations: [String: Int64]?
    public var dirtyLinesFrom: Int
    public var dirtyLinesTo: Int
    public var staleFrom: Int
    public var staleTo: Int
    /// Descriptor formatting for both sides (they share a configuration).
    public var format: DescriptorFormat

    public var isEmpty: Bool { descriptors.isEmpty && mappings.isEmpty }
}

extension HistoryStore {
    /// The difference from `a` to `b`. In one run it looks only at the
    /// descriptors the events between the points wrote and the tables they
    /// freed, and reads both sides from one engine, advanced in place from the
    /// earlier point to the later; across runs (which must share a
    /// configuration) it compares the whole trees, matching tables by path.
    public func diff(_ a: Point, _ b: Point) throws(StoreError) -> HistoryDiff {
        if a.run == b.run { return try diffInRun(a, b) }
        let left = try reconstruct(a), right = try reconstruct(b)
        try checkSameConfiguration(left.run, right.run)
        let ea = left.engine, eb = right.engine
        let from = HistoryDiff.Side(ea, tables: nil, spans: nil), to = HistoryDiff.Side(eb, tables: nil, spans: nil)
        return HistoryDiff(from: a, to: b, descriptors: HistoryDiff.descriptorChanges(from, to, geometry: ea.geometry, comparison: .childPath),
                           comparison: .childPath, mappings: HistoryDiff.mappingChanges(from.leaves, to.leaves, format: ea.format),
                           cleanCalls: nil, linesCleaned: nil, invalidations: nil, dirtyLinesFrom: from.dirtyLines, dirtyLinesTo: to.dirtyLines,
                           staleFrom: from.stale, staleTo: to.stale, format: ea.format)
    }

    private func checkSameConfiguration(_ x: RunInfo, _ y: RunInfo) throws(StoreError) {
        guard x.sharesConfiguration(with: y) else {
            throw StoreError(.invalid, path: path, "runs \(x.id) and \(y.id) have different table configurations "
                + "(\(x.config.stage)/\(x.config.granule)/\(x.config.ias)/\(x.config.oas) vs "
                + "\(y.config.stage)/\(y.config.granule)/\(y.config.ias)/\(y.config.oas)); a diff needs the same")
        }
    }

    /// Only what the events between two points of one run wrote can differ
    /// between them: the descriptors they wrote and the tables they freed
    /// (a table they allocated hangs under a descriptor they wrote). The earlier
    /// side is read over those before the engine is advanced, so a diff costs
    /// one reconstruction and the events between, not a copy of the state.
    private func diffInRun(_ a: Point, _ b: Point) throws(StoreError) -> HistoryDiff {
        let lo = min(a.seq, b.seq), hi = max(a.seq, b.seq)
        let between = try read { db -> HistoryDiff.Between in
            let (from, to) = EventKey.range(run: a.run, after: lo, through: hi)
            var written: [(table: Int, index: Int)] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT DISTINCT tbl, idx FROM write_rows WHERE id > ? AND id <= ?", arguments: [from, to])
            while let row = try rows.next() { written.append((row[0], row[1])) }
            let allocated = try Int.fetchAll(db, sql: "SELECT tbl FROM table_allocs WHERE id > ? AND id <= ?", arguments: [from, to])
            let freed = try Int.fetchAll(db, sql: "SELECT tbl FROM table_frees WHERE id > ? AND id <= ?", arguments: [from, to])
            let c = try Row.fetchOne(db, sql: "SELECT count(*) AS n, coalesce(sum(lines), 0) AS l FROM cleans WHERE id > ? AND id <= ? AND reason = 0",
                                     arguments: [from, to])!
            var inv: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: HistoryDiff.invalidationsSQL, arguments: [from, to]) {
                inv[row["name"]] = row["n"]
            }
            return HistoryDiff.Between(written: written, allocated: allocated, freed: freed, cleanCalls: c["n"], linesCleaned: c["l"], invalidations: inv)
        }
        // Both sides need only the tables the events between them touch and
        // those over what they wrote (ReadScope.swift): a point in a long
        // map_sg decodes a few tables of its millions of descriptors.
        let scope = ReadScope(entries: between.written, tables: between.tables, spans: Set(between.freed), replayThrough: hi)
        let earlier = try reconstruct(Point(run: a.run, seq: lo), advancing: nil, scope: scope)
        let tables = between.tables
        let spans = between.earlierSpans(in: earlier.engine), earlierTables = earlier.engine.tables.count
        let first = HistoryDiff.Side(earlier.engine, tables: tables, spans: spans)
        let later = try reconstruct(Point(run: a.run, seq: hi), advancing: (lo, earlier.engine, earlier.openCalls), scope: scope)
        let second = HistoryDiff.Side(later.engine, tables: tables, spans: between.laterSpans(spans, earlierTables: earlierTables, in: later.engine))
        let (from, to) = a.seq <= b.seq ? (first, second) : (second, first)
        let e = later.engine
        return HistoryDiff(from: a, to: b, descriptors: HistoryDiff.descriptorChanges(from, to, geometry: e.geometry, comparison: .written),
                           comparison: .written, mappings: HistoryDiff.mappingChanges(from.leaves, to.leaves, format: e.format),
                           cleanCalls: between.cleanCalls, linesCleaned: between.linesCleaned, invalidations: between.invalidations,
                           dirtyLinesFrom: from.dirtyLines, dirtyLinesTo: to.dirtyLines, staleFrom: from.stale, staleTo: to.stale, format: e.format)
    }
}

extension HistoryDiff {
    /// TLB invalidations by kind between two keys. They are counted in the key
    /// range first: joined with the kinds directly, SQLite built an automatic
    /// index over the whole of tlb_ops (2 s of a diff at 136M events).
    static let invalidationsSQL = """
        SELECT k.name AS name, coalesce(c.n, 0) AS n FROM tlb_op_kinds k
        LEFT JOIN (SELECT op, count(*) AS n FROM tlb_ops WHERE id > ? AND id <= ? GROUP BY op) c ON c.op = k.code
        """

    /// One valid entry: its written value and, for a table descriptor, the child's path.
    struct Entry: Equatable {
        var written: UInt64
        var child: String?
        /// A table descriptor's value with the table address cleared.
        var normalised: UInt64? { child == nil ? nil : written & ~DescriptorBits.addressMask }

        func same(as other: Entry, by comparison: Comparison) -> Bool {
            switch comparison {
            case .written: return written == other.written && child == other.child
            case .childPath: return child == other.child && (child == nil ? written == other.written : normalised == other.normalised)
            }
        }
    }

    /// Entries by table path.
    static func entries(of engine: IOPageTable<NullSink>, tables ids: Set<Int>?) -> [String: (level: Int, iovaBase: UInt64, values: [Int: Entry])] {
        entries(of: engine, live: engine.liveTablesInOrder(), tables: ids)
    }

    /// The same, given the engine's ``IOPageTable/liveTablesInOrder()``.
    static func entries(of engine: IOPageTable<NullSink>, live: [Int], tables ids: Set<Int>?)
        -> [String: (level: Int, iovaBase: UInt64, values: [Int: Entry])] {
        var out: [String: (level: Int, iovaBase: UInt64, values: [Int: Entry])] = [:]
        for id in live where ids?.contains(id) ?? true {
            let t = engine.tables[id]
            var values: [Int: Entry] = [:]
            for i in 0..<t.entries {
                let pte = engine.entry(i, of: id)
                guard pte != 0 else { continue }
                if DescriptorFormat.isTable(pte, level: t.level) {
                    let child = engine.tableID(at: engine.format.outputAddress(pte))
                    values[i] = Entry(written: pte, child: child >= 0 ? engine.path(of: child) : "?")
                } else {
                    values[i] = Entry(written: pte, child: nil)
                }
            }
            out[engine.path(of: id)] = (t.level, t.iovaBase, values)
        }
        return out
    }

    /// The events between two points of one run, as a diff needs them.
    struct Between {
        /// Each (table, index) written, once.
        var written: [(table: Int, index: Int)]
        var allocated: [Int]
        var freed: [Int]
        var cleanCalls: Int64
        var linesCleaned: Int64
        var invalidations: [String: Int64]

        var tables: Set<Int> { Set(written.map(\.table)).union(allocated).union(freed) }

        /// The IOVA ranges that can read differently on the two sides, seen
        /// from the earlier side's `engine`: each descriptor written in a table
        /// it has, and each table it has that was freed. A table allocated
        /// between the points adds nothing when it is reachable later: it
        /// hangs under a descriptor written between them in a table the
        /// earlier side has, unless the root itself is new (and then the
        /// earlier side has no leaves at all, see ``laterSpans(_:earlierTables:in:)``).
        func earlierSpans(in engine: IOPageTable<NullSink>) -> [(UInt64, UInt64)] {
            let tables = engine.tables
            var ranges = written.filter { $0.table < tables.count }.map { Self.range(of: $0, in: engine) }
            for id in freed where id < tables.count {
                let size = engine.geometry.blockSize(tables[id].level)
                ranges.append((tables[id].iovaBase, tables[id].iovaBase &+ UInt64(tables[id].entries) &* size &- 1))
            }
            return merge(ranges)
        }

        /// The ranges for the later side: `earlier` plus each descriptor
        /// written in a table allocated since, and live, in `engine`. (A
        /// whole-state checkpoint keeps a freed table as a tombstone, without
        /// its place in the tree: only live records give ranges here.)
        func laterSpans(_ earlier: [(UInt64, UInt64)], earlierTables: Int, in engine: IOPageTable<NullSink>) -> [(UInt64, UInt64)] {
            let tables = engine.tables
            var ranges = earlier
            for w in written where w.table >= earlierTables && w.table < tables.count && !tables[w.table].freed {
                ranges.append(Self.range(of: w, in: engine))
            }
            return ranges.count == earlier.count ? earlier : merge(ranges)
        }

        /// The IOVAs entry `index` of table `table` maps (inclusive).
        static func range(of position: (table: Int, index: Int), in engine: IOPageTable<NullSink>) -> (UInt64, UInt64) {
            let t = engine.tables[position.table]
            let size = engine.geometry.blockSize(t.level)
            let lo = t.iovaBase &+ UInt64(position.index) &* size
            return (lo, lo &+ size &- 1)
        }
    }

    /// What a diff reads of one state: the entries of `tables` (nil: all) by
    /// path, the leaves under `spans` (nil: everywhere), and its dirty lines
    /// and stale descriptors.
    struct Side {
        var entries: [String: (level: Int, iovaBase: UInt64, values: [Int: Entry])]
        var leaves: [Leaf]
        var dirtyLines: Int
        var stale: Int

        init(_ engine: IOPageTable<NullSink>, tables: Set<Int>?, spans: [(UInt64, UInt64)]?) {
            let live = engine.liveTablesInOrder()
            entries = HistoryDiff.entries(of: engine, live: live, tables: tables)
            leaves = HistoryDiff.leaves(engine, spans: spans)
            (dirtyLines, stale) = engine.syncState(ofTables: live)
        }
    }

    static func descriptorChanges(_ a: Side, _ b: Side, geometry: Geometry, comparison: Comparison) -> [DescriptorChange] {
        // Tables touched in the range may be reached through untouched parents; include the paths either side knows.
        let ea = a.entries, eb = b.entries
        var out: [DescriptorChange] = []
        for path in Set(ea.keys).union(eb.keys).sorted(by: pathOrder) {
            let left = ea[path], right = eb[path]
            let level = left?.level ?? right!.level
            let base = left?.iovaBase ?? right!.iovaBase
            let size = geometry.blockSize(level)
            let indices = Set(left?.values.keys.map { $0 } ?? []).union(right?.values.keys.map { $0 } ?? []).sorted()
            for i in indices {
                let o = left?.values[i], n = right?.values[i]
                if let o, let n, o.same(as: n, by: comparison) { continue }
                let byPath = comparison == .childPath
                out.append(DescriptorChange(table: path, index: i, level: level, iova: base &+ UInt64(i) &* size, size: size,
                                            old: o?.written ?? 0, new: n?.written ?? 0, oldChild: o?.child, newChild: n?.child,
                                            oldNormalised: byPath ? o?.normalised : nil, newNormalised: byPath ? n?.normalised : nil))
            }
        }
        return out
    }

    /// Orders paths as the tree does: by their numeric components.
    static func pathOrder(_ x: String, _ y: String) -> Bool {
        let a = x.split(separator: "/").map { Int($0.drop(while: { $0 == "L" })) ?? 0 }
        let b = y.split(separator: "/").map { Int($0.drop(while: { $0 == "L" })) ?? 0 }
        return a.lexicographicallyPrecedes(b)
    }

    /// Inclusive IOVA ranges, sorted and merged.
    static func merge(_ ranges: [(UInt64, UInt64)]) -> [(UInt64, UInt64)] {
        let raw = ranges.sorted { $0.0 < $1.0 }
        var merged: [(UInt64, UInt64)] = []
        for s in raw {
            if let last = merged.last, s.0 <= last.1 &+ 1, last.1 != .max {
                merged[merged.count - 1].1 = max(last.1, s.1)
            } else {
                merged.append(s)
            }
        }
        return merged
    }

    struct Leaf { var iova: UInt64; var size: UInt64; var pa: UInt64; var pte: UInt64; var level: Int }

    struct LeafCollector: RangeVisitor {
        let engine: IOPageTable<NullSink>
        var leaves: [Leaf] = []
        mutating func run(table: Int, level: Int, index: Int, count: Int) {
            let t = engine.tables[table]
            let size = engine.geometry.blockSize(level)
            for i in index..<(index + count) {
                let pte = engine.entry(i, of: table)
                guard DescriptorFormat.isLeaf(pte, level: level) else { continue }
                leaves.append(Leaf(iova: t.iovaBase &+ UInt64(i) &* size, size: size, pa: engine.format.outputAddress(pte), pte: pte, level: level))
            }
        }
    }

    static func leaves(_ e: IOPageTable<NullSink>, spans: [(UInt64, UInt64)]?) -> [Leaf] {
        var c = LeafCollector(engine: e)
        let ranges = spans ?? [(0, (UInt64(1) << UInt64(e.geometry.ias)) - 1)]
        for (lo, hi) in ranges { e.walk(iova: lo, size: hi &- lo &+ 1, visitor: &c) }
        return c.leaves
    }

    /// The translations that differ between two leaf lists read over the same spans.
    static func mappingChanges(_ la: [Leaf], _ lb: [Leaf], format: DescriptorFormat) -> [MappingChange] {
        // Sweep the boundaries of both leaf lists.
        var cuts = Set<UInt64>()
        for l in la + lb { cuts.insert(l.iova); cuts.insert(l.iova &+ l.size) }
        let points = cuts.sorted()
        var ia = 0, ib = 0
        var out: [MappingChange] = []
        let attrMask = ~(DescriptorBits.addressMask | DescriptorBits.typeMask)
        func at(_ list: [Leaf], _ i: inout Int, _ x: UInt64) -> Leaf? {
            while i < list.count && list[i].iova &+ list[i].size <= x { i += 1 }
            guard i < list.count, list[i].iova <= x else { return nil }
            return list[i]
        }
        for (k, start) in points.enumerated() where k + 1 < points.count {
            let end = points[k + 1]
            let oa = at(la, &ia, start), ob = at(lb, &ib, start)
            let paA = oa.map { $0.pa &+ (start &- $0.iova) }, paB = ob.map { $0.pa &+ (start &- $0.iova) }
            let kind: MappingKind
            switch (oa, ob) {
            case (nil, nil): continue
            case (nil, _?): kind = .mapped
            case (_?, nil): kind = .unmapped
            case (let x?, let y?):
                if paA != paB { kind = .remapped } else if x.pte & attrMask != y.pte & attrMask { kind = .protection } else { continue }
            }
            let attrsA = oa.map { format.decode($0.pte, level: $0.level).attributes } ?? []
            let attrsB = ob.map { format.decode($0.pte, level: $0.level).attributes } ?? []
            if var last = out.last, last.kind == kind, last.iova &+ last.size == start,
               last.oldAttributes == attrsA, last.newAttributes == attrsB,
               (last.oldPA == nil) == (paA == nil), (last.newPA == nil) == (paB == nil),
               last.oldPA.map({ $0 &+ last.size }) == paA, last.newPA.map({ $0 &+ last.size }) == paB {
                last.size &+= end &- start
                out[out.count - 1] = last
            } else {
                out.append(MappingChange(kind: kind, iova: start, size: end &- start, oldPA: paA, newPA: paB,
                                         oldAttributes: attrsA, newAttributes: attrsB))
            }
        }
        return out
    }
}
