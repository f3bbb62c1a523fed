/// Which io-pgtable-arm.c the engine reproduces.
///
/// The engine models mainline (Nov 2025). Linux 6.12 LTS differs in four
/// places (docs/KERNEL-HELPER.md, "Kernel profiles"): an unmap whose first
/// entry is empty returns 0 instead of -ENOENT through `size_t`; an unmap of
/// part of a block splits the block (`arm_lpae_split_blk_unmap`) instead of
/// refusing; stage 2 concatenates root tables whenever the walk would start
/// at level 0 with at most 16 root entries; and it has no
/// `IO_PGTABLE_QUIRK_NO_WARN` (its WARN sites test `selftest_running`).
public enum KernelProfile: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case mainline
    case v6_12 = "6.12"

    /// Parses `mainline`, `6.12` or a 6.12 release such as `6.12.118`; nil for anything else.
    public init?(parsing text: String) {
        if text == "mainline" {
            self = .mainline
        } else if text == "6.12" || (text.hasPrefix("6.12.") && text.dropFirst(5).allSatisfy(\.isNumber) && text.count > 5) {
            self = .v6_12
        } else {
            return nil
        }
    }

    /// The spelling `--kernel-profile` and a script's `profile=` take.
    public var description: String { rawValue }

    /// One line on what the profile changes, for help texts and headers.
    public var summary: String {
        switch self {
        case .mainline:
            return "mainline io-pgtable-arm (Nov 2025)"
        case .v6_12:
            return "Linux 6.12 LTS: an unmap of an empty first entry returns 0, an unmap of part of a block splits it, "
                + "stage 2 concatenates the root whenever it would start at level 0 with at most 16 entries, no NO_WARN quirk"
        }
    }

    /// `-ENOENT` (mainline) or 0 (6.12): what `__arm_lpae_unmap` returns when the first entry it looks up is empty.
    var unmapOfEmptyFirstEntry: UInt64 {
        self == .mainline ? UInt64(bitPattern: -Errno.ENOENT) : 0
    }

    /// Whether an unmap of part of a block splits it (6.12's `arm_lpae_split_blk_unmap`) rather than refusing it.
    var splitsBlocks: Bool { self == .v6_12 }

    /// Whether the kernel has `IO_PGTABLE_QUIRK_NO_WARN`.
    public var hasNoWarnQuirk: Bool { self == .mainline }
}
