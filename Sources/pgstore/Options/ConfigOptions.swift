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
        return c
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
