/// How descriptor writes reach a non-coherent SMMU: the options the seed thread debates.
public enum Strategy: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Mainline io-pgtable-arm: each `map_pages` cleans the leaves it wrote; tables are cleaned when installed.
    case eager
    /// The seed's v1 patch as posted: `defer_sync_pte` skips leaf cleans and its
    /// `iotlb_sync_map` walk cleans each run once, index arithmetic included.
    case deferred
    /// The same deferral, with an `iotlb_sync_map` that rides the generic range
    /// walker and so covers exactly the range asked (see docs/FINDINGS.md).
    case deferredFixed = "deferred-fixed"
    /// The reviewers' alternative: `map_sg` maps the whole list in one pass and
    /// cleans each touched run of each table once at the end.
    case batchedSG = "batched-sg"
    /// A coherent walker: no cache maintenance at all (the baseline cost).
    case coherent

    public var description: String { rawValue }

    /// `cfg->defer_sync_pte`.
    public var defersLeafSync: Bool { self == .deferred || self == .deferredFixed }
    /// Whether the walk is forced coherent.
    public var forcesCoherentWalk: Bool { self == .coherent }

    /// Strategies that `record` and `demo` run by default, in comparison order.
    public static let comparisonOrder: [Strategy] = [.eager, .deferred, .deferredFixed, .batchedSG, .coherent]

    /// Accepts the names above, case-insensitively, and `deferred_fixed`, `batched_sg`.
    public init?(parsing text: String) {
        let t = String(text.lowercased().map { $0 == "_" ? "-" : $0 })
        guard let s = Strategy(rawValue: t) else { return nil }
        self = s
    }
}
