import PGEngine

/// Calls and configurations written back as `.pgs` lines, so a generated
/// workload (check-kernel's divergent ones) can be read, rerun and edited.
extension Call {
    /// The script line that makes this call; nil for calls a script cannot make
    /// (`alloc` and `free`, which begin and end every run).
    public var scriptLine: String? {
        switch kind {
        case .mapPages: return "map \(hex(iova)) \(hex(paddr)) \(hex(size)) \(count) \(prot.scriptLetters)"
        case .unmapPages: return "unmap \(hex(iova)) \(hex(size)) \(count)"
        case .iovaToPhys: return "iova_to_phys \(hex(iova))"
        case .iotlbSyncMap: return "sync_map \(hex(iova)) \(hex(size))"
        case .iotlbSync: return "tlb_sync"
        case .iommuMap: return "iommu_map \(hex(iova)) \(hex(paddr)) \(hex(size)) \(prot.scriptLetters)"
        case .iommuUnmap: return "iommu_unmap \(hex(iova)) \(hex(size))"
        case .iommuMapSG:
            return "map_sg \(hex(iova)) \(prot.scriptLetters) " + segments.map { "\(hex($0.paddr))+\(hex($0.length))" }.joined(separator: " ")
        case .access: return "access \(hex(iova)) \(prot.contains(.write) ? "w" : "r")\(prot.contains(.priv) ? "p" : "")"
        case .allocTables, .freeTables: return nil
        }
    }
}

extension Prot {
    /// As a script writes it: the letters, or `-` for no permission at all.
    var scriptLetters: String { isEmpty ? "-" : description }
}

extension PageTableConfig {
    /// The `config` line that sets this configuration.
    public var scriptLine: String {
        var line = "config stage=\(stage.rawValue) granule=\(granule.description.lowercased()) ias=\(ias) oas=\(oas) "
        line += "coherent=\(coherentWalk ? "yes" : "no") line=\(lineSize)"
        if noWarn { line += " nowarn=yes" }
        if nonSecure { line += " ns=yes" }
        if let pgsizeBitmap { line += " pgsizes=\(hex(pgsizeBitmap))" }
        if profile != .mainline { line += " profile=\(profile)" }
        return line
    }
}
