/// The shape of one page table, computed exactly as `arm_lpae_alloc_pgtable`
/// and the stage-specific allocators do.
public struct Geometry: Sendable, Hashable {
    public let stage: Stage
    public let granule: Granule
    /// IAS and OAS after the kernel's clamping.
    public let ias: Int
    public let oas: Int
    /// Page sizes this table can map (`cfg->pgsize_bitmap` after restriction).
    public let pgsizeBitmap: UInt64
    /// `bits_per_level`: log2(granule) - 3.
    public let bitsPerLevel: Int
    /// Level of the root table (0...3).
    public let startLevel: Int
    /// log2 of the number of root entries, after any stage-2 concatenation.
    public let pgdBits: Int
    /// True when stage 2 concatenated root tables to save a level.
    public let concatenated: Bool

    public static let maxLevels = 4
    /// `ARM_LPAE_S2_MAX_CONCAT_PAGES`: root tables stage 2 may concatenate.
    public static let maxConcatenatedTables = 16

    /// Computes the geometry or gives the kernel's reason for refusing the configuration.
    public init(_ config: PageTableConfig) throws(ConfigError) {
        let granule = config.granule
        let maxBits = granule.maxAddressBits
        guard config.ias > 0, config.oas > 0 else {
            throw ConfigError(reason: "IAS and OAS must be positive (ias=\(config.ias), oas=\(config.oas))",
                              field: config.ias > 0 ? .oas : .ias)
        }
        // arm_lpae_restrict_pgsizes: keep the driver's sizes the granule allows,
        // clamp the address sizes to what the granule can express.
        let offered = config.driverPgsizeBitmap
        let bitmap = offered & granule.pageSizes(oas: config.oas)
        let ias = min(config.ias, maxBits)
        let oas = min(config.oas, maxBits)
        // arm_lpae_alloc_pgtable refuses a bitmap left without the granule's page size.
        guard bitmap & granule.bytes != 0 else {
            let allowed = sizeList(granule.pageSizes(oas: 52), separator: ", ") + (granule == .size64K ? " with an OAS above 48" : "")
            if bitmap == 0 {
                throw ConfigError(reason: "none of the offered page sizes \(sizeList(offered)) is a size of the \(granule) granule (\(allowed)): "
                                  + "nothing is left once io-pgtable-arm restricts the bitmap to the granule", field: .pgsizes)
            }
            throw ConfigError(reason: "the offered page sizes \(sizeList(offered)) lack the \(granule) granule's page size \(granule), and "
                              + "io-pgtable-arm refuses a bitmap without it (only \(sizeList(bitmap)) is left after the restriction to the granule)",
                              field: .pgsizes)
        }
        // The TCR/VTCR PS field has encodings for these output sizes only.
        guard [32, 36, 40, 42, 44, 48, 52].contains(oas) else {
            throw ConfigError(reason: "OAS \(oas) has no TCR.IPS/VTCR.PS encoding; io-pgtable-arm accepts 32, 36, 40, 42, 44, 48 (and 52 with the 64K granule)", field: .oas)
        }
        let pgShift = granule.shift
        guard ias > pgShift else {
            // pgstore's own guard: the kernel would compute a table with no levels.
            throw ConfigError(reason: "IAS \(ias) leaves no index bits above the \(granule) granule (pgstore needs IAS > \(pgShift))", field: .ias)
        }
        let bpl = pgShift - 3
        let vaBits = ias - pgShift
        let levels = (vaBits + bpl - 1) / bpl
        var startLevel = Geometry.maxLevels - levels
        var pgdBits = vaBits - bpl * (levels - 1)
        var concatenated = false
        if config.stage == .two {
            switch config.profile {
            case .mainline where Geometry.concatMandatory(granule: granule, startLevel: startLevel, ias: ias, oas: oas):
                let rootEntries = 1 << pgdBits
                guard rootEntries <= Geometry.maxConcatenatedTables else {
                    throw ConfigError(reason: "stage 2 with \(granule) granule, IAS \(ias), OAS \(oas) must start one level lower with concatenated tables, but that needs \(rootEntries) of them (the architecture allows 16)", field: .ias)
                }
                concatenated = true
            case .v6_12:
                // 6.12's arm_64_lpae_alloc_pgtable_s2 saves the level whenever it can, and never refuses.
                concatenated = startLevel == 0 && 1 << pgdBits <= Geometry.maxConcatenatedTables
            default:
                break
            }
            if concatenated {
                pgdBits += bpl
                startLevel += 1
            }
        }
        self.stage = config.stage
        self.granule = granule
        self.ias = ias
        self.oas = oas
        self.pgsizeBitmap = bitmap
        self.bitsPerLevel = bpl
        self.startLevel = startLevel
        self.pgdBits = pgdBits
        self.concatenated = concatenated
    }

    /// `arm_lpae_concat_mandatory`: when Arm DDI0487 requires a stage-2 table to
    /// start one level lower with concatenated root tables.
    static func concatMandatory(granule: Granule, startLevel: Int, ias: Int, oas: Int) -> Bool {
        if granule == .size16K && startLevel == 0 { return oas == 48 || ias == 48 }
        if granule == .size4K && startLevel == 0 { return oas == 40 || oas == 42 }
        return granule == .size16K && startLevel == 1 && oas == 40
    }

    // MARK: - Per-level arithmetic (the kernel's ARM_LPAE_* macros)

    /// `ARM_LPAE_LVL_SHIFT(l)`: where level l's index starts in an address.
    /// Defined for any integer level, as the kernel's macro is (the seed patch
    /// evaluates it at `start_level - 1`).
    @inline(__always)
    public func shift(_ level: Int) -> Int { (Geometry.maxLevels - level) * bitsPerLevel + 3 }

    /// `ARM_LPAE_BLOCK_SIZE(l)`: bytes one entry at level l maps.
    @inline(__always)
    public func blockSize(_ level: Int) -> UInt64 { 1 &<< UInt64(shift(level)) }

    /// `ARM_LPAE_PGD_IDX(l)`: extra (or fewer) index bits at the start level.
    @inline(__always)
    public func pgdIndexBits(_ level: Int) -> Int { level == startLevel ? pgdBits - bitsPerLevel : 0 }

    /// `ARM_LPAE_LVL_IDX(a, l)`: the index of `iova` in a level-l table.
    @inline(__always)
    public func index(of iova: UInt64, level: Int) -> Int {
        let bits = bitsPerLevel + pgdIndexBits(level)
        return Int(truncatingIfNeeded: (iova &>> UInt64(shift(level))) & ((1 &<< UInt64(bits)) &- 1))
    }

    /// `ARM_LPAE_GRANULE`: bytes in a (non-root) table.
    public var granuleBytes: UInt64 { granule.bytes }
    /// `ARM_LPAE_PTES_PER_TABLE`.
    public var entriesPerTable: Int { 1 << bitsPerLevel }
    /// Entries in the root (all concatenated pages together).
    public var rootEntries: Int { 1 << pgdBits }
    /// `ARM_LPAE_PGD_SIZE`.
    public var rootBytes: UInt64 { UInt64(8) << UInt64(pgdBits) }

    /// Entries of a table at `level`.
    @inline(__always)
    public func entries(atLevel level: Int) -> Int { level == startLevel ? rootEntries : entriesPerTable }

    /// `arm_lpae_max_entries`: entries from index `i` to the end of its table page.
    @inline(__always)
    public func maxEntries(from i: Int) -> Int {
        let perTable = entriesPerTable
        return perTable - (i & (perTable - 1))
    }

    /// The smallest page size.
    public var minPageSize: UInt64 { 1 << UInt64(pgsizeBitmap.trailingZeroBitCount) }
    /// The largest page size.
    public var maxPageSize: UInt64 { 1 << UInt64(63 - pgsizeBitmap.leadingZeroBitCount) }

    /// The level whose block size is `size`, if any.
    public func level(forBlockSize size: UInt64) -> Int? {
        (startLevel..<Geometry.maxLevels).first { blockSize($0) == size }
    }

    /// Whether the page sizes are those arm-smmu-v3's bitmap leaves for this
    /// granule and OAS (``PageTableConfig/pgsizeBitmap`` nil, or a bitmap the
    /// restriction makes the same).
    public var hasDefaultPgsizeBitmap: Bool {
        pgsizeBitmap == granule.smmuV3PageSizes(oas: oas) & granule.pageSizes(oas: oas)
    }

    /// Page sizes as a readable list, e.g. `4K|2M|1G`.
    public var pageSizeList: String { sizeList(pgsizeBitmap) }
}

/// Formats a power-of-two byte count as 4K, 2M, 1G, 4T; other values in hex.
public func formatSize(_ bytes: UInt64) -> String {
    let units: [(UInt64, String)] = [(1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")]
    for (unit, name) in units where bytes >= unit && bytes % unit == 0 {
        return "\(bytes / unit)\(name)"
    }
    return hex(bytes)
}

/// `0x`-prefixed lower-case hex, as the kernel's `%#llx` prints.
@inline(__always)
public func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// Zero-padded 16-digit hex, as `0x%016llx` prints.
public func hex16(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
