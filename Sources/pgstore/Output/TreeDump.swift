import PGEngine

/// One non-empty entry of a table, in the chosen view.
struct ShownEntry {
    var index: Int
    var pa: UInt64
    var cpu: UInt64
    var memory: UInt64
    /// The value shown: the memory view's or the CPU's.
    var value: UInt64

    /// The entries worth showing: non-zero in the chosen view, or differing
    /// between views; in `window`, those whose IOVA span meets it.
    static func entries<S>(of id: Int, in e: IOPageTable<S>, memoryView: Bool, window: IOVAWindow? = nil) -> [ShownEntry] {
        let t = e.tables[id]
        var out: [ShownEntry] = []
        let block = e.geometry.blockSize(t.level)
        for i in 0..<t.entries where window?.meets(t.iovaBase &+ UInt64(i) &* block, size: block) ?? true {
            let pa = t.pa + UInt64(i) * 8
            let cpu = e.memory.cpuValue(at: pa), mem = e.memory.deviceValue(at: pa)
            let value = memoryView ? mem : cpu
            guard value != 0 || cpu != mem else { continue }
            out.append(ShownEntry(index: i, pa: pa, cpu: cpu, memory: mem, value: value))
        }
        return out
    }
}

/// The tables as a tree from the root, one decoded entry a line.
enum TreeDump {
    /// Writes the tree (in `window`: the tables and entries over it) to
    /// `out` as it goes: a point in a long map_sg has millions of lines.
    static func write<S>(_ e: IOPageTable<S>, header: String, memoryView: Bool, window: IOVAWindow? = nil, to out: inout OutputBuffer) {
        let all = e.liveTablesInOrder()
        let shown = window.map { e.liveTablesInOrder(within: $0.range) } ?? all
        let counts = e.syncState(ofTables: all)
        let scope = window.map { "; IOVA \($0.description): \(shown.count) of \(all.count) tables" } ?? "; \(all.count) tables"
        out.line("\(header); \(memoryView ? "memory" : "cpu") view\(scope), \(counts.dirtyLines) dirty lines, \(counts.stale) stale entries")
        guard !shown.isEmpty else {
            out.line(all.isEmpty ? "(no tables)" : "(no tables over the range)")
            return
        }
        let depthBase = e.tables[e.root].level
        for id in shown {
            let t = e.tables[id]
            let indent = String(repeating: "  ", count: t.level - depthBase)
            let span = UInt64(t.entries) << UInt64(e.geometry.shift(t.level))
            out.line("\(indent)\(e.path(of: id)) T#\(id) @\(hex(t.pa)) level \(t.level) \(hex16(t.iovaBase))-\(hex16(t.iovaBase &+ span &- 1))")
            let block = e.geometry.blockSize(t.level)
            for entry in ShownEntry.entries(of: id, in: e, memoryView: memoryView, window: window) {
                let i = entry.index, pa = entry.pa, cpu = entry.cpu, mem = entry.memory, pte = entry.value
                let d = e.format.decode(pte, level: t.level)
                var line = "\(indent)  [\(i)] \(hex16(pte)) "
                switch d.kind {
                case .table:
                    let child = e.tableID(at: d.outputAddress)
                    line += "TABLE -> \(child >= 0 ? e.path(of: child) : hex(d.outputAddress))"
                case .page, .block:
                    let iova = t.iovaBase &+ UInt64(i) &* block
                    line += "\(hex16(iova))-\(hex16(iova &+ block &- 1)) \(formatSize(block)) \(d.kind == .page ? "PAGE" : "BLK") -> \(hex(d.outputAddress))"
                case .invalid:
                    line += "INVALID"
                }
                if !d.attributes.isEmpty { line += " " + d.attributes.joined(separator: " ") }
                if e.memory.isDirty(line: e.memory.line(of: pa)) { line += "  dirty" }
                if e.memory.isStale(at: pa) {
                    line += memoryView ? "  STALE (cpu \(hex16(cpu)))" : "  STALE (memory \(hex16(mem)))"
                }
                out.line(line)
            }
        }
    }
}

/// Tables as JSON, shared by `run --format json` and `dump --format json`.
enum TablesJSON {
    static func tables<S>(_ e: IOPageTable<S>, memoryView: Bool = false) -> [RunJSON.TableJSON] {
        e.liveTablesInOrder().map { table($0, of: e, memoryView: memoryView) }
    }

    static func table<S>(_ id: Int, of e: IOPageTable<S>, memoryView: Bool = false, window: IOVAWindow? = nil) -> RunJSON.TableJSON {
            let t = e.tables[id]
            var entries: [RunJSON.EntryJSON] = []
            for entry in ShownEntry.entries(of: id, in: e, memoryView: memoryView, window: window) {
                let i = entry.index, pa = entry.pa, cpu = entry.cpu, mem = entry.memory, pte = entry.value
                let d = e.format.decode(pte, level: t.level)
                let stale = e.memory.isStale(at: pa)
                entries.append(RunJSON.EntryJSON(index: i, value: hex16(pte), type: d.kind.rawValue, output: hex(d.outputAddress),
                                                 attributes: d.attributes, stale: stale,
                                                 memory: stale ? hex16(memoryView ? cpu : mem) : nil))
            }
            return RunJSON.TableJSON(id: id, name: e.path(of: id), path: e.pathIndices(of: id), level: t.level, pa: hex(t.pa), entries: entries)
    }
}
