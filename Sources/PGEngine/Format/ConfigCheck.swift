/// A setting of ``PageTableConfig``, named as a script's `config` line names it.
public enum ConfigField: String, Sendable, Hashable, Codable, CaseIterable {
    case stage, granule, ias, oas, coherent
    case lineSize = "line"
    case noWarn = "nowarn"
    case nonSecure = "ns"
    case pgsizes
    case profile
}

extension PageTableConfig {
    /// Everything checked before a table exists: the cache model's line size,
    /// the quirks' stage, and the geometry `alloc_io_pgtable_ops` would compute
    /// (or the reason it refuses, with the setting it is about).
    ///
    /// Every path that builds tables (run, record, restore, continue) goes
    /// through this one check, so a configuration refused in one place is
    /// refused, with the same words, in all of them.
    public func checked() throws(ConfigError) -> Geometry {
        guard lineSize >= 8, lineSize <= 4096, lineSize & (lineSize - 1) == 0 else {
            throw ConfigError(reason: "cache line size \(lineSize) is not a power of two from 8 to 4096", field: .lineSize)
        }
        if nonSecure && stage == .two {
            throw ConfigError(reason: "the NS quirk (IO_PGTABLE_QUIRK_ARM_NS) exists for stage 1 only", field: .nonSecure)
        }
        if noWarn && !profile.hasNoWarnQuirk {
            throw ConfigError(reason: "Linux \(profile) has no IO_PGTABLE_QUIRK_NO_WARN (its WARNs test selftest_running)", field: .noWarn)
        }
        return try Geometry(self)
    }
}
