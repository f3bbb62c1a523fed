import ArgumentParser
import PGEngine
import PGSources

/// Page-table configuration flags shared by the commands that build tables.
/// Each overrides the script's `config` line; what neither sets keeps its default.
struct ConfigOptions: ParsableArguments {
    @Option(help: "Translation stage: 1 or 2.")
    var stage: Int?

    @Option(help: "Translation granule: 4k, 16k or 64k.")
    var granule: String?

    @Option(help: "Input address size in bits (IOVA width).")
    var ias: Int?

    @Option(help: "Output address size in bits: 32, 36, 40, 42, 44, 48 (52 with 64k).")
    var oas: Int?

    @Option(help: "Whether the SMMU's table walk is coherent with the CPU caches: yes or no.")
    var coherent: String?

    @Option(name: .customLong("line-size"), help: "CPU cache line size in bytes (a power of two, 8 to 4096).")
    var lineSize: Int?

    @Flag(name: .customLong("no-warn"), help: "Set IO_PGTABLE_QUIRK_NO_WARN: the kernel's WARNs on -EEXIST and unmapped entries stay quiet.")
    var noWarn = false

    /// The flag and value that set `field`, when one did (`--oas 33`).
    func flag(for field: ConfigField) -> String? {
        switch field {
        case .stage: return stage.map { "--stage \($0)" }
        case .granule: return granule.map { "--granule \($0)" }
        case .ias: return ias.map { "--ias \($0)" }
        case .oas: return oas.map { "--oas \($0)" }
        case .coherent: return coherent.map { "--coherent \($0)" }
        case .lineSize: return lineSize.map { "--line-size \($0)" }
        case .noWarn: return noWarn ? "--no-warn" : nil
        case .nonSecure: return nil
        case .pgsizes: return pgsizes.map { "--pgsizes \($0)" }
        case .profile: return kernelProfile.map { "--kernel-profile \($0)" }
        }
    }

    @Option(help: ArgumentHelp("""
        The page sizes the driver offers io-pgtable: sizes separated by , or | (4k,2m,1g) or one hex mask \
        (0x40201000). The kernel keeps those the granule allows (4K: 4K 2M 1G; 16K: 16K 32M; 64K: 64K 512M, \
        and 4T with an OAS above 48) and refuses a bitmap without the granule's page size; `run` and `record` \
        show it after that adjustment. Default: what arm-smmu-v3 passes, the granule's sizes plus 4T with a 52-bit OAS.
        """, valueName: "SIZES"))
    var pgsizes: String?

    @Option(name: .customLong("kernel-profile"), help: ArgumentHelp("""
        Which io-pgtable-arm.c the engine reproduces: mainline (Nov 2025, the default) or 6.12 (6.12.N is taken \
        as 6.12). Under 6.12 an unmap whose first entry is empty returns 0 (not -ENOENT through size_t), an unmap \
        of part of a block splits the block into a new table (arm_lpae_split_blk_unmap) instead of refusing, stage 2 \
        concatenates the root whenever it would start at level 0 with at most 16 entries (and never refuses a \
        configuration for it), and --no-warn is refused (6.12 has no IO_PGTABLE_QUIRK_NO_WARN). \
        A recorded run keeps its profile (runs.kernel_profile).
        """, valueName: "PROFILE"))
    var kernelProfile: String?

    /// The script's config with these flags on top.
    func resolve(_ script: ScriptConfig) throws -> ScriptConfig {
        var c = script
        if let stage {
            guard let s = Stage(rawValue: stage) else { throw PgstoreError("--stage \(stage): the stage must be 1 or 2") }
            c.stage = s
        }
        if let granule {
            guard let g = Granule(parsing: granule) else {
                throw PgstoreError("--granule \(granule): the granule must be 4k, 16k or 64k")
            }
            c.granule = g
        }
        if let ias { c.ias = ias }
        if let oas { c.oas = oas }
        if let coherent {
            switch coherent.lowercased() {
            case "yes", "true", "1", "on": c.coherent = true
            case "no", "false", "0", "off": c.coherent = false
            default: throw PgstoreError("--coherent \(coherent): expected yes or no")
            }
        }
        if let lineSize { c.lineSize = lineSize }
        if noWarn { c.noWarn = true }
        if let pgsizes {
            switch DriverPageSizes.parse(pgsizes) {
            case .success(let bitmap): c.pgsizes = bitmap
            case .failure(let e): throw PgstoreError("--pgsizes \(pgsizes): \(e.message)")
            }
        }
        if let kernelProfile {
            guard let p = KernelProfile(parsing: kernelProfile) else {
                throw PgstoreError("--kernel-profile \(kernelProfile): unknown kernel profile (expected mainline or 6.12)")
            }
            c.profile = p
        }
        return c
    }
}

extension Strategy: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// Parses a `--strategy` value, naming the accepted ones (and the closest,
/// for a misspelling) when it is unknown. `accepting` lists further words the
/// flag takes (`all`).
func parseStrategy(_ text: String, flag: String = "--strategy", accepting extra: [String] = []) throws -> Strategy {
    guard let s = Strategy(parsing: text) else {
        let names = Strategy.allCases.map(\.rawValue) + extra
        let hint = closestName(to: text, among: names).map { "; did you mean '\($0)'?" } ?? ""
        throw PgstoreError("\(flag) \(text): unknown strategy (expected one of: \(names.joined(separator: ", ")))\(hint)")
    }
    return s
}

/// The name within two edits of `text` (or a prefix of it), if there is one closest.
func closestName(to text: String, among names: [String]) -> String? {
    let word = Array(text.lowercased())
    func distance(_ name: String) -> Int {
        let other = Array(name)
        var row = Array(0...other.count)
        for (i, a) in word.enumerated() {
            var previous = row[0]
            row[0] = i + 1
            for (j, b) in other.enumerated() {
                let substitution = previous + (a == b ? 0 : 1)
                previous = row[j + 1]
                row[j + 1] = min(substitution, row[j] + 1, row[j + 1] + 1)
            }
        }
        return row[other.count]
    }
    let scored = names.map { ($0, $0.hasPrefix(text.lowercased()) && !text.isEmpty ? 0 : distance($0)) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 else { return nil }
    return scored.filter { $0.1 == best.1 }.count == 1 ? best.0 : nil
}
