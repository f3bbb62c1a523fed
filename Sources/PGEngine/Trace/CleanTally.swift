/// A sink that counts cleans per cache line (per table, as the conformance logs
/// count them) and discards everything else: enough for the strategy comparison.
public struct CleanTally: EventSink {
    public static var isEnabled: Bool { true }
    /// Clean count per (table id << 32 | line).
    public private(set) var perLine: [UInt64: Int] = [:]
    public private(set) var cleanCalls = 0
    public private(set) var lines = 0
    /// Bytes of descriptors the cleans covered.
    public private(set) var bytes = 0
    public private(set) var alreadyClean = 0
    public private(set) var events = 0

    public init() {}

    public mutating func record(_ event: Event) {
        events += 1
        guard case .clean(let table, _, let count, let first, let n, let already, let reason) = event.payload,
              reason == .descriptors else { return }
        cleanCalls += 1
        lines += n
        bytes += count * 8
        alreadyClean += already
        let base = UInt64(table) << 32
        for k in 0..<n { perLine[base + UInt64(first + k), default: 0] += 1 }
    }

    public var distinctLines: Int { perLine.count }
    public var maxCleansPerLine: Int { perLine.values.max() ?? 0 }
    /// Cleans of a line beyond its first.
    public var redundantLines: Int { lines - perLine.count }
}
