/// The heatmap's colour classes: one per distinct clean count present, so no
/// two counts share a colour unless the legend says so. Past `exactLimit`
/// distinct counts (the viridis ramp's ten colours), the counts are split into
/// that many ranges of consecutive present counts, each labelled as a range.
struct HeatScale {
    struct Entry: Equatable {
        /// The smallest and largest count the class covers (equal for an exact class).
        var low: Int64
        var high: Int64
        var colour: String
        /// `heat-8`, or `heat-10-15` for a range.
        var cssClass: String { low == high ? "heat-\(low)" : "heat-\(low)-\(high)" }
        /// `8`, or `10–15 (range)`.
        var label: String { low == high ? "\(low)" : "\(low)–\(high) (range)" }
    }

    static let exactLimit = Palette.viridis.count

    let entries: [Entry]

    init(counts: some Sequence<Int64>) {
        let distinct = Array(Set(counts)).sorted()
        let classes = min(distinct.count, Self.exactLimit)
        var entries: [Entry] = []
        for k in 0..<classes {
            // Class k holds the present counts of rank [k*n/classes, (k+1)*n/classes).
            let from = k * distinct.count / classes, to = (k + 1) * distinct.count / classes - 1
            let shade = classes == 1 ? Palette.viridis.count - 1 : (k * (Palette.viridis.count - 1) + (classes - 1) / 2) / (classes - 1)
            entries.append(Entry(low: distinct[from], high: distinct[to], colour: Palette.viridis[shade]))
        }
        self.entries = entries
    }

    /// The class of a count that is present.
    func entry(for count: Int64) -> Entry {
        entries.first { $0.low <= count && count <= $0.high } ?? entries[entries.count - 1]
    }

    /// Whether some class covers more than one count (the legend then says which are ranges).
    var hasRanges: Bool { entries.contains { $0.low != $0.high } }
}
