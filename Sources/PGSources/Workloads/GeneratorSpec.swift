import PGEngine

/// A `--generate` spec: `sg:pages=N[,pa=contiguous|random][,seed=S]`,
/// `churn:ops=N[,seed=S]` or `dmabench:loops=N[,size=S]`.
public enum GeneratorSpec: Sendable, Hashable, CustomStringConvertible {
    case scatterGather(pages: Int, placement: ScatterGatherWorkload.Placement, seed: UInt64)
    case churn(operations: Int, seed: UInt64)
    case dmaBench(loops: Int, size: UInt64?)

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static func parse(_ text: String) throws(ParseError) -> GeneratorSpec {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else {
            throw ParseError(message: "--generate \(text): expected NAME:KEY=VALUE[,KEY=VALUE...] (sg:pages=N, churn:ops=N or dmabench:loops=N)")
        }
        var fields: [String: String] = [:]
        for pair in parts[1].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else {
                throw ParseError(message: "--generate \(text): \"\(pair)\" is not KEY=VALUE")
            }
            if fields[String(kv[0])] != nil { throw ParseError(message: "--generate \(text): \(kv[0]) given twice") }
            fields[String(kv[0])] = String(kv[1])
        }
        func number(_ key: String, required: Bool, min: UInt64 = 0, max: UInt64) throws(ParseError) -> UInt64? {
            guard let v = fields.removeValue(forKey: key) else {
                if required { throw ParseError(message: "--generate \(text): \(key)= is required") }
                return nil
            }
            guard let n = parseNumber(v), n >= min, n <= max else {
                throw ParseError(message: "--generate \(text): \(key)=\(v) is not a number from \(min) to \(max)")
            }
            return n
        }
        let spec: GeneratorSpec
        switch parts[0] {
        case "sg":
            let pages = try number("pages", required: true, min: 1, max: 1 << 26)!
            var placement = ScatterGatherWorkload.Placement.random
            if let pa = fields.removeValue(forKey: "pa") {
                guard let p = ScatterGatherWorkload.Placement(rawValue: pa) else {
                    throw ParseError(message: "--generate \(text): pa=\(pa) must be contiguous or random")
                }
                placement = p
            }
            spec = .scatterGather(pages: Int(pages), placement: placement, seed: try number("seed", required: false, max: .max) ?? 1)
        case "churn":
            let ops = try number("ops", required: true, max: 1 << 40)!
            spec = .churn(operations: Int(ops), seed: try number("seed", required: false, max: .max) ?? 1)
        case "dmabench":
            let loops = try number("loops", required: true, max: 1 << 40)!
            spec = .dmaBench(loops: Int(loops), size: try number("size", required: false, max: 1 << 40))
        default:
            throw ParseError(message: "--generate \(text): unknown generator \"\(parts[0])\" (expected sg, churn or dmabench)")
        }
        if let extra = fields.keys.sorted().first {
            throw ParseError(message: "--generate \(text): unknown key \(extra) for \(parts[0])")
        }
        return spec
    }

    /// The calls this generator makes for a table of `geometry`.
    public func calls(geometry: Geometry) throws(ParseError) -> AnySequence<Call> {
        switch self {
        case .scatterGather(let pages, let placement, let seed):
            let sg = ScatterGatherWorkload(pages: pages, placement: placement, seed: seed, pageSize: geometry.minPageSize)
            return AnySequence(CollectionOfOne(sg.call))
        case .churn(let operations, let seed):
            return AnySequence(ChurnWorkload(operations: operations, seed: seed, geometry: geometry))
        case .dmaBench(let loops, let size):
            let bytes = size ?? geometry.minPageSize
            guard bytes > 0, bytes % geometry.minPageSize == 0 else {
                throw ParseError(message: "--generate dmabench: size=\(bytes) is not a multiple of the \(geometry.granule) granule")
            }
            return AnySequence(DMABenchWorkload(loops: loops, size: bytes))
        }
    }

    public var description: String {
        switch self {
        case .scatterGather(let pages, let placement, let seed): return "sg:pages=\(pages),pa=\(placement.rawValue),seed=\(seed)"
        case .churn(let operations, let seed): return "churn:ops=\(operations),seed=\(seed)"
        case .dmaBench(let loops, let size): return "dmabench:loops=\(loops)" + (size.map { ",size=\($0)" } ?? "")
        }
    }
}
