import ArgumentParser
import PGEngine

/// `--iova RANGE`: the IOVAs a command looks at. `ADDR` is one address,
/// `START-END` an inclusive range (as dump prints them), `START+SIZE` a
/// range of SIZE bytes; numbers are decimal or 0x hex, sizes may end in
/// K, M, G or T.
struct IOVAWindow: Sendable, Equatable {
    var range: ClosedRange<UInt64>

    static let help = "Only the IOVAs of RANGE: ADDR, START-END (inclusive) or START+SIZE (e.g. 0x40000000+2M)."

    /// Parses `text`, or says what is wrong with it.
    static func parse(_ text: String) throws -> IOVAWindow {
        func number(_ s: Substring, _ what: String) throws -> UInt64 {
            guard let v = parseNumber(String(s)) else {
                throw ValidationError("\(what) '\(s)' is not a number (decimal or 0x hex, with an optional K, M, G or T)")
            }
            return v
        }
        if let plus = text.firstIndex(of: "+") {
            let start = try number(text[..<plus], "start"), size = try number(text[text.index(after: plus)...], "size")
            guard size > 0 else { throw ValidationError("the size is 0") }
            let (last, overflow) = start.addingReportingOverflow(size - 1)
            guard !overflow else { throw ValidationError("the range runs past 2^64") }
            return IOVAWindow(range: start...last)
        }
        if let dash = text.firstIndex(of: "-") {
            let start = try number(text[..<dash], "start"), end = try number(text[text.index(after: dash)...], "end")
            guard start <= end else { throw ValidationError("the end \(hex(end)) is below the start \(hex(start))") }
            return IOVAWindow(range: start...end)
        }
        let at = try number(Substring(text), "address")
        return IOVAWindow(range: at...at)
    }

    var description: String { "\(hex16(range.lowerBound))-\(hex16(range.upperBound))" }

    /// Whether the `size` bytes from `iova` meet the window.
    func meets(_ iova: UInt64, size: UInt64) -> Bool {
        iova <= range.upperBound && iova &+ (size &- 1) >= range.lowerBound
    }
}
