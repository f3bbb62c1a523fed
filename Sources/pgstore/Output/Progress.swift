import Foundation

/// A one-line progress display on standard error, shown only on a terminal and
/// only once an input has taken more than a second.
struct Progress {
    let label: String
    let start = DispatchTime.now().uptimeNanoseconds
    let enabled = isatty(STDERR_FILENO) != 0
    private(set) var shown = false

    init(label: String) { self.label = label }

    mutating func update(events: Int64, calls: Int64) {
        guard enabled else { return }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard elapsed >= 1 else { return }
        shown = true
        let rate = Double(events) / max(elapsed, 1e-9)
        let line = String(format: "\r\u{1B}[K%@: %@ events, %@ calls, %@ events/s, %.0f s",
                          label, groupDigits(events), groupDigits(calls), groupDigits(Int64(rate)), elapsed)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
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
