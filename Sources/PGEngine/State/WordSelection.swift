/// Which words of table memory a checkpoint decode writes: every word, or
/// only those in some ranges (``StateCodec/decode(_:selecting:into:)``).
///
/// A point in the middle of a long map_sg holds millions of descriptors,
/// and a windowed dump or a diff reads a few tables of them: decoding only
/// those leaves the rest of the state's arrays untouched (zero, and never
/// faulted in), where decoding all of them was most of the command's time.
public struct WordSelection: Sendable, Equatable, CustomStringConvertible {
    /// Ascending, disjoint and not adjacent; nil: every word.
    public let ranges: [Range<Int>]?

    public static let all = WordSelection(nil)
    public static let none = WordSelection([])

    private init(_ ranges: [Range<Int>]?) { self.ranges = ranges }

    /// The words of `ranges`, in any order, overlapping or not.
    public init(_ ranges: [Range<Int>]) {
        let sorted = ranges.filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for r in sorted {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        self.ranges = merged
    }

    public var isAll: Bool { ranges == nil }

    /// Words selected (nil: all).
    public var count: Int? { ranges.map { $0.reduce(0) { $0 + $1.count } } }

    public var description: String {
        guard let ranges else { return "all words" }
        return "\(count ?? 0) words in \(ranges.count) ranges"
    }

    /// The selected words of `r`, as ranges, ascending.
    public func intersection(with r: Range<Int>) -> [Range<Int>] {
        guard let ranges else { return r.isEmpty ? [] : [r] }
        var out: [Range<Int>] = []
        var k = firstIndex(endingAfter: r.lowerBound, in: ranges)
        while k < ranges.count, ranges[k].lowerBound < r.upperBound {
            let lo = max(ranges[k].lowerBound, r.lowerBound), hi = min(ranges[k].upperBound, r.upperBound)
            if lo < hi { out.append(lo..<hi) }
            k += 1
        }
        return out
    }

    /// The first range that ends after `i`.
    private func firstIndex(endingAfter i: Int, in ranges: [Range<Int>]) -> Int {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound <= i { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Answers membership for ascending positions in O(1) amortised.
    public struct Cursor {
        let ranges: [Range<Int>]?
        var k = 0

        public init(_ selection: WordSelection) { ranges = selection.ranges }

        /// Whether word `i` is selected; `i` must not be below an earlier query's.
        @inline(__always)
        public mutating func contains(_ i: Int) -> Bool {
            guard let ranges else { return true }
            while k < ranges.count && ranges[k].upperBound <= i { k += 1 }
            return k < ranges.count && ranges[k].lowerBound <= i
        }

        /// Whether any word of `r` is selected; `r` must not start below an earlier query.
        @inline(__always)
        public mutating func overlaps(_ r: Range<Int>) -> Bool {
            guard let ranges else { return true }
            while k < ranges.count && ranges[k].upperBound <= r.lowerBound { k += 1 }
            return k < ranges.count && ranges[k].lowerBound < r.upperBound
        }
    }
}
