/// A DMA by the device: TLB lookup, on a miss a walk of what the SMMU can see
/// (memory, or the CPU view when the walk is coherent), then a TLB fill.
extension IOPageTable {
    @discardableResult
    public func access(iova: UInt64, write: Bool, privileged: Bool = false) -> AccessRecord {
        var prot: Prot = write ? .write : .read
        if privileged { prot.insert(.priv) }
        let call = beginCall(Call(kind: .access, iova: iova, prot: prot))
        let record = accessBody(iova: iova, write: write, privileged: privileged)
        stats.accesses += 1
        if record.staleRead { stats.staleReads += 1 }
        if record.staleTLB { stats.staleTLBHits += 1 }
        emit(.access(record))
        let ret: Int64 = record.outcome == .translated ? 0 : -Errno.EFAULT
        endCall(call, .access, CallResult(ret: ret, value: record.pa))
        return record
    }

    /// Repeats a recorded access for its effect on the TLB.
    func replayAccess(iova: UInt64, write: Bool) {
        _ = accessBody(iova: iova, write: write, privileged: true)
    }

    private func accessBody(iova: UInt64, write: Bool, privileged: Bool) -> AccessRecord {
        var record = AccessRecord(iova: iova, write: write, outcome: .translationFault, pa: 0, tlbHit: false,
                                  staleRead: false, staleTLB: false, staleTable: -1, staleIndex: -1,
                                  staleCPUValue: 0, staleMemoryValue: 0)
        guard !isFreed, !tables.isEmpty, iova >> UInt64(geometry.ias) == 0 else { return record }
        let truth = translate(iova)

        if let hit = tlb.lookupLeaf(iova, geometry: geometry) {
            record.tlbHit = true
            // A hit is stale when the tables (as the CPU wrote them) no longer say the same.
            if let truth {
                record.staleTLB = truth.level != hit.level
                    || (truth.pte ^ hit.pte) & ~DescriptorBits.softwareBits != 0
            } else {
                record.staleTLB = true
            }
            finish(&record, pte: hit.pte, level: hit.level, write: write, privileged: privileged)
            return record
        }

        // Walk, starting from the deepest cached table entry if there is one.
        var level = geometry.startLevel
        var tablePA = tables[root].pa
        if let cached = tlb.lookupWalk(iova, geometry: geometry) {
            level = cached.level
            tablePA = cached.tablePA
            if tableOnCPUPath(iova: iova, level: level) != tablePA { record.staleTLB = true }
        }
        while true {
            let index = geometry.index(of: iova, level: level)
            let pa = tablePA &+ UInt64(index) &* 8
            let pte = memory.deviceValue(at: pa)
            if memory.isStale(at: pa) && !record.staleRead {
                record.staleRead = true
                record.staleTable = tableID(at: tablePA)
                record.staleIndex = index
                record.staleCPUValue = memory.cpuValue(at: pa)
                record.staleMemoryValue = pte
            }
            if DescriptorFormat.isLeaf(pte, level: level) {
                tlb.fillLeaf(iova, pte: pte, level: level, geometry: geometry)
                finish(&record, pte: pte, level: level, write: write, privileged: privileged)
                return record
            }
            guard DescriptorFormat.isTable(pte, level: level) else { return record }
            let next = format.outputAddress(pte)
            guard memory.contains(next) else { return record }
            tlb.fillWalk(iova, level: level, tablePA: next, geometry: geometry)
            tablePA = next
            level += 1
        }
    }

    /// Permission check and output address for a leaf.
    private func finish(_ record: inout AccessRecord, pte: UInt64, level: Int, write: Bool, privileged: Bool) {
        typealias B = DescriptorBits
        let allowed: Bool
        if geometry.stage == .one {
            let writeOK = pte & B.apReadOnly == 0
            let privOK = privileged || pte & B.apUnpriv != 0
            allowed = privOK && (!write || writeOK)
        } else {
            allowed = write ? pte & B.hapWrite != 0 : pte & B.hapRead != 0
        }
        guard allowed else {
            record.outcome = .permissionFault
            return
        }
        record.outcome = .translated
        record.pa = format.outputAddress(pte) | (record.iova & (geometry.blockSize(level) - 1))
    }

    /// The PA of the table the CPU view reaches for `iova` at `level`, or nil.
    private func tableOnCPUPath(iova: UInt64, level target: Int) -> UInt64? {
        var table = root
        var level = geometry.startLevel
        while level < target {
            let pte = entry(geometry.index(of: iova, level: level), of: table)
            guard DescriptorFormat.isTable(pte, level: level) else { return nil }
            table = child(of: pte)
            guard table >= 0 else { return nil }
            level += 1
        }
        return tables[table].pa
    }
}
