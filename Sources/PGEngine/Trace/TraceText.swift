/// Renders calls, tables and totals as text in the layout of the kernel
/// conformance logs (`Tests/Fixtures/conformance/out`), so the two read side by side.
public struct TraceText<Sink: EventSink> {
    public let engine: IOPageTable<Sink>

    public init(engine: IOPageTable<Sink>) { self.engine = engine }

    private var geometry: Geometry { engine.geometry }

    /// The `CONFIG` line: the configuration as the driver passes it (the
    /// page-size bitmap before the allocation restricts it; the alloc line
    /// shows it after).
    /// `strategy` and `deferSyncPTE` name another backend (`kernel 6.12.118`).
    /// A kernel profile other than mainline ends the line (`profile=6.12`),
    /// for the engine only: another backend's strategy names its kernel.
    public func configLine(strategy: String? = nil, deferSyncPTE: Bool? = nil) -> String {
        let c = engine.config
        let quirks = (c.noWarn ? 0x40 : 0) | (c.nonSecure ? 0x1 : 0)
        let deferred = deferSyncPTE ?? engine.strategy.defersLeafSync
        return "CONFIG strategy=\(strategy ?? engine.strategy.rawValue) fmt=\(c.stage.kernelFormat) pgsize_bitmap=\(hex(c.driverPgsizeBitmap)) "
            + "ias=\(c.ias) oas=\(c.oas) granule=\(c.granule) coherent_walk=\(engine.coherentWalk ? 1 : 0) "
            + "defer_sync_pte=\(deferred ? 1 : 0) line=\(c.lineSize) quirks=\(hex(UInt64(quirks)))"
            + (c.profile == .mainline || strategy != nil ? "" : " profile=\(c.profile)")
    }

    /// The first line of a call, with its result and counts.
    public func headline(_ trace: CallTrace) -> String {
        "\(describe(trace.call, result: trace.result)) | \(countsText(trace.counts))"
    }

    /// All lines of a call: headline, then what it did, indented.
    public func lines(_ trace: CallTrace) -> [String] {
        [headline(trace)] + details(trace.events)
    }

    func countsText(_ c: CallTrace.Counts) -> String {
        "cmo=\(c.cmo) lines=\(c.lines) tlb_all=\(c.tlbAll) tlb_walk=\(c.tlbWalk) tlb_page=\(c.tlbPage) warn=\(c.warn) stale=\(c.stale)"
    }

    /// A call and its result, e.g. `map iova=0x0 ... prot=rw: ret=0 mapped=0x1000`.
    public func describe(_ call: Call, result: CallResult?) -> String {
        let args: String
        var outcome: String
        switch call.kind {
        case .allocTables:
            args = ""
            outcome = "ok (cfg after alloc: pgsize_bitmap=\(hex(geometry.pgsizeBitmap)) ias=\(geometry.ias) oas=\(geometry.oas)) "
                + "start_level=\(geometry.startLevel) bits_per_level=\(geometry.bitsPerLevel) pgd_entries=\(geometry.rootEntries)"
        case .mapPages:
            args = " iova=\(hex(call.iova)) paddr=\(hex(call.paddr)) pgsize=\(hex(call.size)) pgcount=\(call.count) prot=\(call.prot)"
            outcome = "ret=\(result?.ret ?? 0) mapped=\(hex(result?.value ?? 0))"
        case .unmapPages:
            args = " iova=\(hex(call.iova)) pgsize=\(hex(call.size)) pgcount=\(call.count)"
            outcome = "unmapped=\(hex(result?.value ?? 0))"
        case .iovaToPhys:
            args = " iova=\(hex(call.iova))"
            outcome = "phys=\(hex(result?.value ?? 0))"
        case .iotlbSyncMap:
            args = " iova=\(hex(call.iova)) size=\(hex(call.size))"
            outcome = "ret=\(result?.ret ?? 0)"
        case .freeTables:
            args = ""
            outcome = "leaked_tables=0"
        case .iommuMap:
            args = " iova=\(hex(call.iova)) paddr=\(hex(call.paddr)) size=\(hex(call.size)) prot=\(call.prot)"
            outcome = "ret=\(result?.ret ?? 0) mapped=\(hex(result?.value ?? 0))"
        case .iommuMapSG:
            let segs = call.segments.prefix(4).map { "\(hex($0.paddr))+\(hex($0.length))" }.joined(separator: ",")
            let more = call.segments.count > 4 ? ",...(\(call.segments.count) segments)" : ""
            args = " iova=\(hex(call.iova)) prot=\(call.prot) sg=\(segs)\(more)"
            outcome = "ret=\(result?.ret ?? 0) mapped=\(hex(result?.value ?? 0))"
        case .iommuUnmap:
            args = " iova=\(hex(call.iova)) size=\(hex(call.size))"
            outcome = "unmapped=\(hex(result?.value ?? 0))"
        case .iotlbSync:
            args = ""
            outcome = "ret=0"
        case .access:
            args = " iova=\(hex(call.iova)) \(call.prot.contains(.write) ? "w" : "r")\(call.prot.contains(.priv) ? "p" : "")"
            outcome = (result?.ret ?? 0) == 0 ? "pa=\(hex(result?.value ?? 0))" : "fault"
        }
        if result == nil { return "\(call.kind.rawValue)\(args)" }
        if let r = result, r.ret < 0, call.kind != .mapPages, call.kind != .iotlbSyncMap, call.kind != .access {
            outcome += " (\(Errno.name(r.ret)))"
        }
        return "\(call.kind.rawValue)\(args): \(outcome)"
    }

    /// The indented lines for what a call did.
    public func details(_ events: [Event]) -> [String] {
        var out: [String] = []
        var depth = 1
        for e in events {
            let pad = String(repeating: "  ", count: depth)
            switch e.payload {
            case .callBegin(let call):
                out.append(pad + "> " + describe(call, result: nil))
                depth += 1
            case .callEnd(let kind, let result):
                depth -= 1
                let p = String(repeating: "  ", count: depth)
                out.append(p + "< \(kind.rawValue): ret=\(result.ret) value=\(hex(result.value))")
            case .tableAlloc(let t):
                out.append(pad + "PGALLOC T#\(t.id) bytes=\(hex(t.allocBytes)) (requested \(hex(max(t.bytes, 64))))")
            case .clean(let table, let index, let count, let first, let lines, _, let reason):
                let t = engine.tables[table]
                if reason == .tableAllocation {
                    out.append(pad + "DMA map_single T#\(table) size=\(hex(t.bytes)) lines=\(lines)")
                } else {
                    out.append(pad + "CMO sync \(engine.path(of: table)) idx=\(index) n=\(count) lines=\(lines) [\(first)-\(first + lines - 1)]")
                }
            case .invalidate(let kind, let iova, let size, let granule):
                switch kind {
                case .all: out.append(pad + "TLB flush_all")
                case .walk: out.append(pad + "TLB flush_walk iova=\(hex(iova)) size=\(hex(size)) granule=\(hex(granule))")
                case .leaf: out.append(pad + "SMMU tlbi_range iova=\(hex(iova)) size=\(hex(size)) granule=\(hex(granule)) leaf")
                }
            case .addPage(let iova, let granule):
                out.append(pad + "TLB add_page iova=\(hex(iova)) granule=\(hex(granule))")
            case .tableFree(let table):
                let t = engine.tables[table]
                if !engine.coherentWalk {
                    out.append(pad + "DMA unmap_single T#\(table):\(engine.path(of: table)) size=\(hex(t.bytes))")
                }
                out.append(pad + "PGFREE T#\(table):\(engine.path(of: table))")
            case .warn(let w):
                out.append(pad + "WARN \(w)")
            case .access(let a):
                var s = pad + "ACCESS iova=\(hex(a.iova)) \(a.write ? "write" : "read"): "
                switch a.outcome {
                case .translated: s += "pa=\(hex(a.pa))"
                case .translationFault: s += "translation fault"
                case .permissionFault: s += "permission fault"
                }
                if a.tlbHit { s += " tlb_hit" }
                if a.staleRead {
                    let where_ = a.staleTable >= 0 ? "\(engine.path(of: a.staleTable))" : "freed table"
                    s += " STALE_READ \(where_)[\(a.staleIndex)] cpu=\(hex16(a.staleCPUValue)) mem=\(hex16(a.staleMemoryValue))"
                }
                if a.staleTLB { s += " STALE_TLB" }
                out.append(s)
            case .write:
                break
            }
        }
        return out
    }

    /// The `DUMP` block: every live table in pre-order with its non-zero entries.
    /// Table descriptors show the child's path instead of its address; entries
    /// the device cannot see as written are marked.
    public func dump() -> [String] {
        var out = ["DUMP start_level=\(geometry.startLevel) bits_per_level=\(geometry.bitsPerLevel) pgd_entries=\(geometry.rootEntries)"]
        for id in engine.liveTablesInOrder() {
            let t = engine.tables[id]
            var rows: [String] = []
            for i in 0..<t.entries {
                let pte = engine.entry(i, of: id)
                guard pte != 0 else { continue }
                var row = "  [\(i)] "
                if DescriptorFormat.isTable(pte, level: t.level) {
                    let child = engine.child(of: pte)
                    row += hex16(pte & ~DescriptorBits.addressMask) + " -> " + (child >= 0 ? engine.path(of: child) : "?")
                } else {
                    row += hex16(pte)
                }
                let pa = t.pa + UInt64(i) * 8
                if engine.memory.isStale(at: pa) {
                    row += "  # stale: device sees \(hex16(engine.memory.deviceValue(at: pa)))"
                }
                rows.append(row)
            }
            out.append("TABLE \(engine.path(of: id)) level=\(t.level) entries=\(t.entries) nonzero=\(rows.count)")
            out += rows
        }
        out.append("END DUMP")
        return out
    }

    /// Totals over `events` in the layout of the logs' `STATS` line.
    public func statsLine(_ events: [Event]) -> String {
        var dmaMap = 0, dmaUnmap = 0, all = 0, walk = 0, page = 0, warns = 0, allocated = 0, freed = 0
        // Lines are told apart per table (T#n), as the logs count them: a reused
        // table page is a new table.
        var tally = CleanTally()
        for e in events {
            tally.record(e)
            switch e.payload {
            case .clean(_, _, _, _, _, _, let reason):
                if reason == .tableAllocation { dmaMap += 1 }
            case .invalidate(let kind, _, _, _):
                if kind == .all { all += 1 } else if kind == .walk { walk += 1 }
            case .addPage: page += 1
            case .warn: warns += 1
            case .tableAlloc: allocated += 1
            case .tableFree:
                freed += 1
                if !engine.coherentWalk { dmaUnmap += 1 }
            default: break
            }
        }
        return "STATS cmo_sync_calls=\(tally.cleanCalls) cmo_lines_total=\(tally.lines) cmo_bytes=\(tally.bytes) "
            + "cmo_distinct_lines=\(tally.distinctLines) cmo_max_per_line=\(tally.maxCleansPerLine) dma_map=\(dmaMap) dma_unmap=\(dmaUnmap) tlb_flush_all=\(all) "
            + "tlb_flush_walk=\(walk) tlb_add_page=\(page) warns=\(warns) tables_allocated=\(allocated) tables_freed=\(freed)"
    }

    /// Descriptors the device cannot see as written, one line each.
    public func staleLines() -> [String] {
        var out: [String] = []
        for id in engine.liveTablesInOrder() {
            let t = engine.tables[id]
            for i in 0..<t.entries {
                let pa = t.pa + UInt64(i) * 8
                if engine.memory.isStale(at: pa) {
                    let iova = t.iovaBase &+ UInt64(i) &* geometry.blockSize(t.level)
                    out.append("  \(engine.path(of: id))[\(i)] iova=\(hex(iova)) cpu=\(hex16(engine.memory.cpuValue(at: pa))) memory=\(hex16(engine.memory.deviceValue(at: pa)))")
                }
            }
        }
        return ["stale: \(out.count) entries differ between CPU and device view"] + out
    }
}
