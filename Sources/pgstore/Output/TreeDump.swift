import PGEngine

/// One non-empty entry of a table, in the chosen view.
struct ShownEntry {
    var index: Int
    var pa: UInt64
    var cpu: UInt64
    var memory: UInt64
    /// The value shown: the memory view's or the CPU's.
    var value: UInt64

    /// The entries worth showing: non-zero in the chosen view, or differing between views.
    static func entries<S>(of id: Int, in e: IOPageTable<S>, memoryView: Bool) -> [ShownEntry] {
        let t = e.tables[id]
        var out: [ShownEntry] = []
        for i in 0..<t.entries {
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
    static func lines<S>(_ e: IOPageTable<S>, header: String, memoryView: Bool) -> [String] {
        let live = e.liveTablesInOrder()
        var out = ["\(header); \(memoryView ? "memory" : "cpu") view; \(live.count) tables, \(e.dirtyLineCount()) dirty lines, \(e.staleEntryCount()) stale entries"]
        guard !live.isEmpty else { return out + ["(no tables)"] }
        let depthBase = e.tables[e.root].level
        for id in live {
            let t = e.tables[id]
            let indent = String(repeating: "  ", count: t.level - depthBase)
            let span = UInt64(t.entries) << UInt64(e.geometry.shift(t.level))
            out.append("\(indent)\(e.path(of: id)) T#\(id) @\(hex(t.pa)) level \(t.level) \(hex16(t.iovaBase))-\(hex16(t.iovaBase &+ span &- 1))")
            let block = e.geometry.blockSize(t.level)
            for entry in ShownEntry.entries(of: id, in: e, memoryView: memoryView) {
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
                out.append(line)
            }
        }
        return out
    }
}

/// Tables as JSON, shared by `run --format json` and `dump --format json`.
enum TablesJSON {
    static func tables<S>(_ e: IOPageTable<S>, memoryView: Bool = false) -> [RunJSON.TableJSON] {
        e.liveTablesInOrder().map { table($0, of: e, memoryView: memoryView) }
    }

    static func table<S>(_ id: Int, of e: IOPageTable<S>, memoryView: Bool = false) -> RunJSON.TableJSON {
            let t = e.tables[id]
            var entries: [RunJSON.EntryJSON] = []
            for entry in ShownEntry.entries(of: id, in: e, memoryView: memoryView) {
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
