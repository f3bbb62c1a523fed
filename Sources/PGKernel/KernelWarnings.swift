import PGEngine

/// Which of pgstore's ``Warning``s a kernel WARN is, from its condition text
/// and the call it fired in. The sites are io-pgtable-arm.c's in 6.1, 6.12
/// and mainline (whose EEXIST and empty-unmap warnings test the NO_WARN quirk
/// where older kernels test `selftest_running`); line numbers differ between
/// versions, so the condition decides.
enum KernelWarnings {
    static func warning(site: String, condition: String, call: Call) -> Warning? {
        let c = condition.filter { !$0.isWhitespace }
        let quietable = c.contains("selftest_running") || c.contains("IO_PGTABLE_QUIRK_NO_WARN")
        switch call.kind {
        case .mapPages:
            if c.contains("pgsize_bitmap") { return .badPageSize }
            if c.contains("iaext") || c.contains("oas") { return .addressRange }
            if c.contains("lvl>=ARM_LPAE_MAX_LEVELS-1") { return .tableAtLastLevel }
            if c == "1" { return .replaceTableFailed }
            if quietable { return .mapExists }
            return unmapSite(c, quietable: quietable)
        case .unmapPages:
            if c.contains("pgsize_bitmap") { return call.count == 0 ? .unmapBadArguments : .badPageSize }
            if c == "iaext" { return .unmapBadArguments }
            return unmapSite(c, quietable: quietable)
        case .iotlbSyncMap:
            if c == "!size" || c == "iaext" { return .syncMapBadArguments }
            if c == "!pte" { return .syncMapEmptyEntry }
            return nil
        default:
            return nil
        }
    }

    /// The WARNs of `__arm_lpae_unmap`, also reached from a map that replaces a table by a block.
    private static func unmapSite(_ c: String, quietable: Bool) -> Warning? {
        if c == "!pte" || quietable { return .unmapEmpty }
        if c == "lvl==ARM_LPAE_MAX_LEVELS" { return .tableAtLastLevel }
        if c == "true" { return .unmapPartialBlock }
        return nil
    }
}
