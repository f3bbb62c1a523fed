import PGEngine

/// Checks a script's calls against the table's geometry before anything runs,
/// so that a typo is reported at its line instead of turning into a kernel
/// error (or a silent truncation) in the middle of a run.
///
/// The kernel itself checks less: io-pgtable does not check alignment at all.
/// To watch what the kernel does with such calls, skip this validation.
public enum ScriptValidator {
    public static func validate(_ script: Script, geometry: Geometry) throws(ScriptError) {
        for statement in script.statements {
            guard case .call(let call) = statement.command else { continue }
            if let problem = check(call, geometry: geometry) {
                throw ScriptError(statement.location, "\(call.kind.rawValue): \(problem)")
            }
        }
    }

    /// What is wrong with `call` under `geometry`, or nil.
    public static func check(_ call: Call, geometry g: Geometry) -> String? {
        let iasLimit: UInt64 = g.ias >= 64 ? .max : 1 << UInt64(g.ias)
        let oasLimit: UInt64 = g.oas >= 64 ? .max : 1 << UInt64(g.oas)
        func inIAS(_ start: UInt64, _ size: UInt64) -> String? {
            let (end, overflow) = start.addingReportingOverflow(size)
            if overflow || end > iasLimit {
                return "IOVA range \(hex(start))+\(hex(size)) goes beyond the \(g.ias)-bit input address space (ends at \(hex(iasLimit)))"
            }
            return nil
        }
        func inOAS(_ start: UInt64, _ size: UInt64) -> String? {
            let (end, overflow) = start.addingReportingOverflow(size)
            if overflow || end > oasLimit {
                return "physical range \(hex(start))+\(hex(size)) goes beyond the \(g.oas)-bit output address space (ends at \(hex(oasLimit)))"
            }
            return nil
        }
        func pageSize(_ size: UInt64) -> String? {
            if size == 0 || size & (size - 1) != 0 || size & g.pgsizeBitmap == 0 {
                return "page size \(hex(size)) is not in the page-size bitmap \(hex(g.pgsizeBitmap)) (\(g.pageSizeList))"
            }
            return nil
        }
        func aligned(_ what: String, _ value: UInt64, to alignment: UInt64) -> String? {
            value & (alignment - 1) == 0 ? nil : "\(what) \(hex(value)) is not aligned to \(hex(alignment))"
        }
        func total(_ size: UInt64, _ count: UInt64) -> UInt64? {
            let (t, o) = size.multipliedReportingOverflow(by: count)
            return o ? nil : t
        }
        func access(_ prot: Prot) -> String? {
            prot.contains(.read) || prot.contains(.write) ? nil : "PROT \"\(prot)\" grants neither read (r) nor write (w)"
        }
        let minPage = g.minPageSize
        switch call.kind {
        case .mapPages:
            if let e = pageSize(call.size) { return e }
            if call.count == 0 { return "PGCOUNT must be at least 1" }
            guard let bytes = total(call.size, call.count) else { return "PGSIZE x PGCOUNT overflows 64 bits" }
            return aligned("IOVA", call.iova, to: call.size) ?? aligned("PADDR", call.paddr, to: call.size)
                ?? inIAS(call.iova, bytes) ?? inOAS(call.paddr, bytes) ?? access(call.prot)
        case .unmapPages:
            if let e = pageSize(call.size) { return e }
            if call.count == 0 { return "PGCOUNT must be at least 1" }
            guard let bytes = total(call.size, call.count) else { return "PGSIZE x PGCOUNT overflows 64 bits" }
            return aligned("IOVA", call.iova, to: call.size) ?? inIAS(call.iova, bytes)
        case .iovaToPhys:
            // The kernel does not refuse it: its index arithmetic drops the bits above the IAS.
            guard let e = inIAS(call.iova, 1) else { return nil }
            let alias = g.ias >= 64 ? call.iova : call.iova & ((1 << UInt64(g.ias)) - 1)
            return "\(e); the kernel answers for the aliased IOVA \(hex(alias)) (run with --kernel-errors to see it)"
        case .access:
            return inIAS(call.iova, 1)
        case .iotlbSyncMap:
            if call.size == 0 { return "SIZE must not be 0" }
            return inIAS(call.iova, call.size)
        case .iommuMap:
            if call.size == 0 { return "SIZE must not be 0" }
            return aligned("IOVA", call.iova, to: minPage) ?? aligned("PADDR", call.paddr, to: minPage)
                ?? aligned("SIZE", call.size, to: minPage) ?? inIAS(call.iova, call.size)
                ?? inOAS(call.paddr, call.size) ?? access(call.prot)
        case .iommuMapSG:
            if call.segments.isEmpty { return "the list has no segments" }
            var sum: UInt64 = 0
            for (n, s) in call.segments.enumerated() {
                if s.length == 0 { return "segment \(n + 1) has length 0" }
                if let e = aligned("segment \(n + 1) PADDR", s.paddr, to: minPage) ?? aligned("segment \(n + 1) LEN", s.length, to: minPage)
                    ?? inOAS(s.paddr, s.length) {
                    return e
                }
                let (t, o) = sum.addingReportingOverflow(s.length)
                if o { return "the list's total length overflows 64 bits" }
                sum = t
            }
            return aligned("IOVA", call.iova, to: minPage) ?? inIAS(call.iova, sum) ?? access(call.prot)
        case .iommuUnmap:
            if call.size == 0 { return "SIZE must not be 0" }
            return aligned("IOVA", call.iova, to: minPage) ?? aligned("SIZE", call.size, to: minPage) ?? inIAS(call.iova, call.size)
        case .iotlbSync, .allocTables, .freeTables:
            return nil
        }
    }
}
