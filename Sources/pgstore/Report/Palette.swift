/// Colours that stay apart for colour-blind readers and in print: the
/// viridis ramp for magnitudes, and the Okabe-Ito set for series.
enum Palette {
    static let viridis = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"]
    static let series = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"]

    /// A colour for `value` in 1...max (logarithmic, so 1 and 8 are far apart).
    static func heat(_ value: Int64, max: Int64) -> String {
        guard max > 1 else { return viridis[viridis.count - 1] }
        let t = log(Double(value)) / log(Double(max))
        let i = Int((t * Double(viridis.count - 1)).rounded())
        return viridis[Swift.max(0, Swift.min(viridis.count - 1, i))]
    }
}

import Foundation
