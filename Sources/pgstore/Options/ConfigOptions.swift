import ArgumentParser
import PGEngine

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

    @Option(help: ArgumentHelp("""
        The page sizes the driver offers io-pgtable: sizes separated by , or | (4k,2m,1g) or one hex mask \
        (0x40201000). The kernel keeps those the granule allows (4K: 4K 2M 1G; 16K: 16K 32M; 64K: 64K 512M, \
        and 4T with an OAS above 48) and refuses a bitmap without the granule's page size; `run` shows it \
        after that adjustment. Default: what arm-smmu-v3 passes, the granule's sizes plus 4T with a 52-bit OAS.
        """, valueName: "SIZES"))
    var pgsizes: String?

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
        if let lineSize {
            guard lineSize >= 8, lineSize <= 4096, lineSize & (lineSize - 1) == 0 else {
                throw PgstoreError("--line-size \(lineSize): the cache line size must be a power of two from 8 to 4096")
            }
            c.lineSize = lineSize
        }
        if noWarn { c.noWarn = true }
        if let pgsizes {
            switch DriverPageSizes.parse(pgsizes) {
            case .success(let bitmap): c.pgsizes = bitmap
            case .failure(let e): throw PgstoreError("--pgsizes \(pgsizes): \(e.message)")
            }
        }
        return c
    }

    /// A refused configuration, named by the input the refusal is about: this
    /// flag, or the script's setting, when it is about one of them.
    func refusal(_ error: ConfigError, script: Script?) -> PgstoreError {
        if error.setting == .pgsizes {
            if let pgsizes { return PgstoreError("--pgsizes \(pgsizes): \(error.reason)") }
            if let location = script?.configSettingLocations["pgsizes"] { return PgstoreError("\(location): pgsizes: \(error.reason)") }
        }
        return PgstoreError("configuration refused: \(error.reason)")
    }
}

extension Strategy: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// Parses a `--strategy` value, naming the accepted ones when it is unknown.
func parseStrategy(_ text: String, flag: String = "--strategy") throws -> Strategy {
    guard let s = Strategy(parsing: text) else {
        throw PgstoreError("\(flag) \(text): unknown strategy (expected one of: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    return s
}
