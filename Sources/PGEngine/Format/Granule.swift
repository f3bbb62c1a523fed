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

    /// The page and block sizes io-pgtable-arm allows with this granule
    /// (`arm_lpae_restrict_pgsizes`); the 4 TiB level-1 block of the 64K
    /// granule exists only with a 52-bit output address size.
    public func pageSizes(oas: Int) -> UInt64 {
        switch self {
        case .size4K: return 0x1000 | 0x20_0000 | 0x4000_0000
        case .size16K: return 0x4000 | 0x200_0000
        case .size64K: return 0x1_0000 | 0x2000_0000 | (oas > 48 ? 1 << 42 : 0)
        }
    }

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
