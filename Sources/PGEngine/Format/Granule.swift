/// Translation stage of an Arm LPAE table, as io-pgtable-arm names its formats
/// (`ARM_64_LPAE_S1`, `ARM_64_LPAE_S2`).
public enum Stage: Int, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case one = 1
    case two = 2

    public var description: String { "\(rawValue)" }
    /// The kernel's name for the format.
    public var kernelFormat: String { self == .one ? "ARM_64_LPAE_S1" : "ARM_64_LPAE_S2" }
}

/// Translation granule: the size of a table page and of the smallest page.
public enum Granule: UInt64, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case size4K = 0x1000
    case size16K = 0x4000
    case size64K = 0x10000

    public var bytes: UInt64 { rawValue }
    /// log2 of the granule: `pg_shift` in the kernel.
    public var shift: Int { rawValue.trailingZeroBitCount }

    /// The page and block sizes io-pgtable-arm allows with this granule: the
    /// mask `arm_lpae_restrict_pgsizes` ANDs the driver's bitmap with. The
    /// 4 TiB level-1 block of the 64K granule is allowed only with an OAS
    /// above 48 bits.
    public func pageSizes(oas: Int) -> UInt64 {
        switch self {
        case .size4K: return 0x1000 | 0x20_0000 | 0x4000_0000
        case .size16K: return 0x4000 | 0x200_0000
        case .size64K: return 0x1_0000 | 0x2000_0000 | (oas > 48 ? Granule.block4T : 0)
        }
    }

    /// The bitmap arm-smmu-v3 passes for an SMMU whose IDR5 offers this granule
    /// (`arm_smmu_device_hw_probe`): the granule's page and block sizes, and the
    /// 4 TiB block when IDR5.OAS reads 52 bits. For both stages the driver sets
    /// `cfg->oas` from that OAS (stage 1 through `smmu->ias`, which is at least
    /// the OAS), so the 4T bit is there exactly when `oas` is 52.
    ///
    /// An SMMU that offers several granules passes their union; io-pgtable then
    /// picks one (the CPU's page size when it is offered) and keeps only that
    /// granule's sizes, which leaves the same bitmap as this one.
    public func smmuV3PageSizes(oas: Int) -> UInt64 {
        let sizes: UInt64
        switch self {
        case .size4K: sizes = 0x1000 | 0x20_0000 | 0x4000_0000
        case .size16K: sizes = 0x4000 | 0x200_0000
        case .size64K: sizes = 0x1_0000 | 0x2000_0000
        }
        return sizes | (oas >= 52 ? Granule.block4T : 0)
    }

    /// The 4 TiB block size (`1ULL << 42`).
    public static let block4T: UInt64 = 1 << 42

    /// Widest input or output address io-pgtable-arm accepts with this granule.
    public var maxAddressBits: Int { self == .size64K ? 52 : 48 }

    public var description: String {
        switch self {
        case .size4K: return "4K"
        case .size16K: return "16K"
        case .size64K: return "64K"
        }
    }

    /// Parses `4k`, `16K`, `64k`, `4096`, `0x4000`...
    public init?(parsing text: String) {
        let t = text.lowercased()
        switch t {
        case "4k", "4096", "0x1000": self = .size4K
        case "16k", "16384", "0x4000": self = .size16K
        case "64k", "65536", "0x10000": self = .size64K
        default: return nil
        }
    }
}
