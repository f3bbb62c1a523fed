import PGEngine

/// A place where a trace says it lost events: the kernel's
/// `CPU:N [LOST M EVENTS]` in `trace` and `trace_pipe` (the ring buffer
/// overwrote or dropped them), or `trace-cmd report`'s `CPU:N [M EVENTS DROPPED]`.
/// After one, the trace may miss maps and unmaps the kernel did.
public struct FtraceGap: Sendable, Hashable {
    /// 1-based line of the marker.
    public var line: Int
    public var cpu: Int
    /// How many events the marker says were lost, when it says.
    public var lost: Int64?
    /// The marker as it reads, trimmed.
    public var marker: String
    /// How many iommu events of the log came before it.
    public var beforeEvent: Int

    public init(line: Int, cpu: Int, lost: Int64?, marker: String, beforeEvent: Int = 0) {
        self.line = line
        self.cpu = cpu
        self.lost = lost
        self.marker = marker
        self.beforeEvent = beforeEvent
    }

    /// The gap a line reports, if it is a lost-events marker.
    public static func parse(_ text: Substring, line: Int) -> FtraceGap? {
        let trimmed = text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed()
        let marker = String(trimmed)
        guard marker.hasPrefix("CPU:") else { return nil }
        let rest = marker.dropFirst(4)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let cpu = Int(digits) else { return nil }
        var tail = rest.dropFirst(digits.count)
        guard tail.hasPrefix(" ["), tail.hasSuffix("]") else { return nil }
        tail = tail.dropFirst(2).dropLast()
        // "LOST M EVENTS" (the kernel) or "M EVENTS DROPPED" (trace-cmd).
        if tail.hasPrefix("LOST "), tail.hasSuffix(" EVENTS") {
            let count = tail.dropFirst(5).dropLast(7)
            guard let lost = Int64(count) else { return nil }
            return FtraceGap(line: line, cpu: cpu, lost: lost, marker: marker)
        }
        if tail.hasSuffix(" EVENTS DROPPED") {
            let count = tail.dropLast(15)
            guard let lost = Int64(count) else { return nil }
            return FtraceGap(line: line, cpu: cpu, lost: lost, marker: marker)
        }
        return nil
    }
}
