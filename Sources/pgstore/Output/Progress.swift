import Foundation
import PGStore

/// A one-line progress display on standard error, shown only on a terminal and
/// only once a recording has taken more than a second. With the workload's
/// size known (scripts, trace files, generators) it gives a percentage and an
/// ETA that move inside long calls too; for a stream, where it is in the input.
final class Progress {
    let label: String
    /// The workload's work in ``RunRecording/work(of:granule:)`` units, when known.
    let total: Int64?
    /// Where a stream is (e.g. "line 1,234 of -"), asked at each update.
    let position: () -> String?
    let start = DispatchTime.now().uptimeNanoseconds
    let enabled = isatty(STDERR_FILENO) != 0
    private(set) var shown = false

    init(label: String, total: Int64? = nil, position: @escaping () -> String? = { nil }) {
        self.label = label
        self.total = total
        self.position = position
    }

    func update(_ p: RecordingProgress) {
        guard enabled else { return }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard elapsed >= 1 else { return }
        shown = true
        var parts: [String] = []
        if let total, total > 0 {
            let share = min(1, p.work / Double(total))
            var head = String(format: "%.1f%%", share * 100)
            if share > 0 { head += ", ETA " + Self.duration(elapsed * (1 - share) / share) }
            parts.append(head)
        }
        parts.append("\(groupDigits(p.events)) events")
        parts.append("\(groupDigits(p.calls)) calls")
        parts.append("\(groupDigits(Int64(Double(p.events) / max(elapsed, 1e-9)))) events/s")
        if let where_ = position() { parts.append(where_) }
        parts.append(Self.duration(elapsed))
        FileHandle.standardError.write(Data(("\r\u{1B}[K\(label): " + parts.joined(separator: ", ")).utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    /// 75 -> "1 min 15 s".
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }
}

/// 1234567 -> "1,234,567".
func groupDigits(_ value: Int64) -> String {
    let s = String(value.magnitude)
    var out = ""
    for (i, ch) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return value < 0 ? "-" + out : out
}
