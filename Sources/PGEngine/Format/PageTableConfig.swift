/// What a caller asks of io-pgtable-arm: the `io_pgtable_cfg` fields pgstore models.
///
/// The kernel adjusts some fields when it allocates the table (it clamps IAS and
/// OAS to what the granule allows and drops page sizes the granule cannot have);
/// ``Geometry`` holds the values after that adjustment.
public struct PageTableConfig: Sendable, Hashable, Codable {
    public var stage: Stage
    public var granule: Granule
    /// Input address size in bits (`cfg->ias`).
    public var ias: Int
    /// Output address size in bits (`cfg->oas`).
    public var oas: Int
    /// The SMMU's table walk snoops the CPU caches (`cfg->coherent_walk`).
    public var coherentWalk: Bool
    /// Cache line size of the CPU that writes the tables, in bytes.
    public var lineSize: Int
    /// `IO_PGTABLE_QUIRK_NO_WARN`: the kernel's WARN_ONs on -EEXIST and unmapped
    /// entries stay quiet (the kernel's selftest sets it).
    public var noWarn: Bool
    /// `IO_PGTABLE_QUIRK_ARM_NS` (stage 1 only): NS and NSTABLE bits.
    public var nonSecure: Bool
    /// The page sizes the driver offers (`cfg->pgsize_bitmap` as passed to
    /// `alloc_io_pgtable_ops`, before the kernel restricts it to the granule);
    /// nil for what arm-smmu-v3 passes (``Granule/smmuV3PageSizes(oas:)``).
    public var pgsizeBitmap: UInt64?
    /// Which kernel's io-pgtable-arm.c the engine reproduces (``KernelProfile``).
    public var profile: KernelProfile

    public init(stage: Stage = .one, granule: Granule = .size4K, ias: Int = 48, oas: Int = 48,
                coherentWalk: Bool = false, lineSize: Int = 64, noWarn: Bool = false, nonSecure: Bool = false,
                pgsizeBitmap: UInt64? = nil, profile: KernelProfile = .mainline) {
        self.stage = stage
        self.granule = granule
        self.ias = ias
        self.oas = oas
        self.coherentWalk = coherentWalk
        self.lineSize = lineSize
        self.noWarn = noWarn
        self.nonSecure = nonSecure
        self.pgsizeBitmap = pgsizeBitmap
        self.profile = profile
    }

    private enum CodingKeys: String, CodingKey {
        case stage, granule, ias, oas, coherentWalk, lineSize, noWarn, nonSecure, pgsizeBitmap, profile
    }

    /// Configurations encoded before profiles existed have no `profile` key: they are mainline.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stage = try c.decode(Stage.self, forKey: .stage)
        granule = try c.decode(Granule.self, forKey: .granule)
        ias = try c.decode(Int.self, forKey: .ias)
        oas = try c.decode(Int.self, forKey: .oas)
        coherentWalk = try c.decode(Bool.self, forKey: .coherentWalk)
        lineSize = try c.decode(Int.self, forKey: .lineSize)
        noWarn = try c.decode(Bool.self, forKey: .noWarn)
        nonSecure = try c.decode(Bool.self, forKey: .nonSecure)
        pgsizeBitmap = try c.decodeIfPresent(UInt64.self, forKey: .pgsizeBitmap)
        profile = try c.decodeIfPresent(KernelProfile.self, forKey: .profile) ?? .mainline
    }

    /// Mainline configurations encode without a `profile` key, byte for byte as before profiles existed.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stage, forKey: .stage)
        try c.encode(granule, forKey: .granule)
        try c.encode(ias, forKey: .ias)
        try c.encode(oas, forKey: .oas)
        try c.encode(coherentWalk, forKey: .coherentWalk)
        try c.encode(lineSize, forKey: .lineSize)
        try c.encode(noWarn, forKey: .noWarn)
        try c.encode(nonSecure, forKey: .nonSecure)
        try c.encodeIfPresent(pgsizeBitmap, forKey: .pgsizeBitmap)
        if profile != .mainline { try c.encode(profile, forKey: .profile) }
    }

    /// The bitmap the driver passes: the configured one, or arm-smmu-v3's for this granule and OAS.
    public var driverPgsizeBitmap: UInt64 { pgsizeBitmap ?? granule.smmuV3PageSizes(oas: oas) }

    /// The configuration kernel conformance logs (`Tests/Fixtures/conformance`) use unless a file says otherwise.
    public static let `default` = PageTableConfig()
}

/// Why io-pgtable-arm (or pgstore, where noted) refuses a configuration.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    /// The setting the refusal is about, where one is (for naming the flag or
    /// the script's `config` key that set it).
    public let field: ConfigField?
    public init(reason: String, field: ConfigField? = nil) {
        self.reason = reason
        self.field = field
    }
    public var description: String { reason }
}
