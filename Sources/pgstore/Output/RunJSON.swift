import Foundation
import PGEngine
import PGSources

/// `pgstore run --format json`: per call its result, cleans and TLB callbacks;
/// at the end every table with its level, path from the root, physical address
/// and non-zero entries. 64-bit values are hex strings, so no reader loses bits.
enum RunJSON {
    struct Document: Encodable {
        var config: ConfigJSON
        var calls: [CallJSON]
        var tables: [TableJSON]
        var staleAtEnd: Int
    }

    struct ConfigJSON: Encodable {
        var stage: Int, granule: String, ias: Int, oas: Int, coherentWalk: Bool, lineSize: Int
        var strategy: String, startLevel: Int, bitsPerLevel: Int, rootEntries: Int, pgsizeBitmap: String
        /// The kernel profile when it is not mainline (the key is absent for mainline).
        var profile: String?
    }

    struct CallJSON: Encodable {
        var call: String
        var args: [String: String]
        var ret: Int64
        var value: String
        var counts: CallTrace.Counts
        var allocations: [[String: String]]
        var cleans: [CleanJSON]
        var tlb: [[String: String]]
        var frees: [String]
        var warnings: [String]
        var accesses: [[String: String]]
    }

    struct CleanJSON: Encodable {
        var table: String, index: Int, count: Int, firstLine: Int, lines: Int, alreadyClean: Int, reason: String
    }

    struct TableJSON: Encodable {
        var id: Int, name: String, path: [Int], level: Int, pa: String, entries: [EntryJSON]
    }

    struct EntryJSON: Encodable {
        var index: Int, value: String, type: String, output: String, attributes: [String], stale: Bool
        var memory: String?
    }

    /// `strategy` names another backend (`kernel 6.12.118+defer_sync_pte`), as in the text log.
    static func write<Run: TracedScriptRun>(script: Script, run: Run, strategy: String? = nil) throws -> Int {
        let e = run.state
        var calls: [CallJSON] = [callJSON(run.traces[0], engine: e)]
        for statement in script.statements {
            if case .call(let call) = statement.command {
                calls.append(callJSON(try run.step(call), engine: e))
            }
        }
        let g = e.geometry
        let doc = Document(
            config: ConfigJSON(stage: g.stage.rawValue, granule: "\(g.granule)", ias: g.ias, oas: g.oas,
                               coherentWalk: e.coherentWalk, lineSize: e.config.lineSize, strategy: strategy ?? e.strategy.rawValue,
                               startLevel: g.startLevel, bitsPerLevel: g.bitsPerLevel, rootEntries: g.rootEntries,
                               pgsizeBitmap: hex(g.pgsizeBitmap),
                               profile: e.config.profile == .mainline || strategy != nil ? nil : e.config.profile.description),
            calls: calls, tables: TablesJSON.tables(e), staleAtEnd: e.staleEntryCount())
        try JSONOutput.write(doc)
        return doc.staleAtEnd
    }

    static func callJSON<S: EventSink>(_ trace: CallTrace, engine e: IOPageTable<S>) -> CallJSON {
        let c = trace.call
        var args: [String: String] = [:]
        switch c.kind {
        case .mapPages: args = ["iova": hex(c.iova), "paddr": hex(c.paddr), "pgsize": hex(c.size), "pgcount": "\(c.count)", "prot": "\(c.prot)"]
        case .unmapPages: args = ["iova": hex(c.iova), "pgsize": hex(c.size), "pgcount": "\(c.count)"]
        case .iovaToPhys, .access: args = ["iova": hex(c.iova)]
        case .iotlbSyncMap, .iommuUnmap: args = ["iova": hex(c.iova), "size": hex(c.size)]
        case .iommuMap: args = ["iova": hex(c.iova), "paddr": hex(c.paddr), "size": hex(c.size), "prot": "\(c.prot)"]
        case .iommuMapSG:
            args = ["iova": hex(c.iova), "prot": "\(c.prot)",
                    "segments": c.segments.map { "\(hex($0.paddr))+\(hex($0.length))" }.joined(separator: " ")]
        case .iotlbSync, .allocTables, .freeTables: break
        }
        if c.kind == .access { args["mode"] = (c.prot.contains(.write) ? "w" : "r") + (c.prot.contains(.priv) ? "p" : "") }
        var out = CallJSON(call: c.kind.rawValue, args: args, ret: trace.result.ret, value: hex(trace.result.value),
                           counts: trace.counts, allocations: [], cleans: [], tlb: [], frees: [], warnings: [], accesses: [])
        for ev in trace.events {
            switch ev.payload {
            case .tableAlloc(let t):
                out.allocations.append(["table": e.path(of: t.id), "id": "\(t.id)", "pa": hex(t.pa), "bytes": hex(t.bytes)])
            case .clean(let table, let index, let count, let first, let lines, let already, let reason):
                out.cleans.append(CleanJSON(table: e.path(of: table), index: index, count: count, firstLine: first, lines: lines,
                                            alreadyClean: already, reason: reason == .tableAllocation ? "table-allocation" : "descriptors"))
            case .invalidate(let kind, let iova, let size, let granule):
                let name = kind == .all ? "flush_all" : kind == .walk ? "flush_walk" : "tlbi_range_leaf"
                out.tlb.append(["op": name, "iova": hex(iova), "size": hex(size), "granule": hex(granule)])
            case .addPage(let iova, let granule):
                out.tlb.append(["op": "add_page", "iova": hex(iova), "granule": hex(granule)])
            case .tableFree(let table): out.frees.append(e.path(of: table))
            case .warn(let w): out.warnings.append("\(w)")
            case .access(let a):
                var rec = ["iova": hex(a.iova), "outcome": "\(a.outcome)", "pa": hex(a.pa), "tlbHit": "\(a.tlbHit)",
                           "staleRead": "\(a.staleRead)", "staleTLB": "\(a.staleTLB)"]
                if a.staleRead {
                    rec["staleCPU"] = hex16(a.staleCPUValue)
                    rec["staleMemory"] = hex16(a.staleMemoryValue)
                }
                out.accesses.append(rec)
            default: break
            }
        }
        return out
    }
}
