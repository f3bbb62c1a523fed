/// Colours that stay apart for colour-blind readers and in print: the
/// viridis ramp for magnitudes (see ``HeatScale``), and the Okabe-Ito set for series.
enum Palette {
    static let viridis = ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"]
    static let series = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"]
}
