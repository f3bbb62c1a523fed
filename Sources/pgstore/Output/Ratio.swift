import Foundation

/// A figure of a run against the same figure of its workload's baseline run.
enum Ratio: Equatable {
    /// value / baseline.
    case times(Double)
    /// Both are 0: nothing to compare.
    case bothZero
    /// The baseline's figure is 0 and this one is not.
    case new

    init(_ value: Double, baseline: Double) {
        if baseline == 0 {
            self = value == 0 ? .bothZero : .new
        } else {
            self = .times(value / baseline)
        }
    }

    /// The number rounded to 3 decimals, when there is one (JSON and CSV give null otherwise).
    var number: Double? {
        if case .times(let r) = self { return (r * 1000).rounded() / 1000 }
        return nil
    }

    /// `0.127×`, `1370×`, `–` (0 against 0), `new` (against 0).
    func text(times sign: String) -> String {
        switch self {
        case .times(let r): return (r >= 1000 ? String(format: "%.0f", r) : String(format: "%.3g", r)) + sign
        case .bothZero: return "–"
        case .new: return "new"
        }
    }
}
