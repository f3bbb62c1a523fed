#if canImport(Glibc)
import Glibc
#endif

/// Storage for the arrays of table memory (each view of ``PhysicalMemory``,
/// a state's `cpu` and `memory`): words by the million once a long map_sg
/// has run. Where such an array is allocated, its pages are advised for
/// transparent huge pages (`madvise(MADV_HUGEPAGE)`) before anything touches
/// them, so the kernel faults the array in 2 MiB at a time rather than 4 KiB:
/// loading the 20 MB views of a state in the middle of a 20M-event map_sg
/// took about 10,000 page faults, and zeroing pages one fault at a time was
/// most of a diff there (docs/PERFORMANCE.md). Where the system's THP setting
/// is `never`, or the call is not available, the advice changes nothing.
extension [UInt64] {
    /// Smallest allocation worth advising: one huge page.
    static let hugePageBytes = 2 << 20

    /// `count` words: the first ones copied from `source`, the rest zero, in
    /// storage for at least `capacity` words.
    init(tableMemory source: [UInt64], count: Int, capacity: Int) {
        let copied = Swift.min(source.count, count)
        self.init(unsafeUninitializedCapacity: Swift.max(capacity, count)) { buffer, initialized in
            Self.adviseHugePages(buffer)
            guard let base = buffer.baseAddress else { initialized = 0; return }
            source.withUnsafeBufferPointer { from in
                if copied > 0, let src = from.baseAddress { base.initialize(from: src, count: copied) }
            }
            (base + copied).initialize(repeating: 0, count: count - copied)
            initialized = count
        }
    }

    /// `count` zero words.
    init(zeroedTableMemory count: Int) {
        self.init(tableMemory: [], count: count, capacity: count)
    }

    /// Cut to `n` words, or grown with zeros. Growth past the capacity moves
    /// the words to advised storage of twice the capacity (or `n`), as an
    /// append would, so repeated growth stays amortised O(1) a word.
    mutating func resize(to n: Int) {
        if n <= count {
            removeLast(count - n)
        } else if n <= capacity {
            append(contentsOf: repeatElement(0, count: n - count))
        } else {
            self = [UInt64](tableMemory: self, count: n, capacity: Swift.max(n, capacity * 2))
        }
    }

    /// Room for `words` words, in advised storage when it must move.
    mutating func reserveTableMemory(_ words: Int) {
        guard words > capacity else { return }
        self = [UInt64](tableMemory: self, count: count, capacity: words)
    }

    private static func adviseHugePages(_ buffer: UnsafeMutableBufferPointer<UInt64>) {
        #if canImport(Glibc)
        guard buffer.count * 8 >= hugePageBytes, let base = buffer.baseAddress else { return }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        let start = (UInt(bitPattern: base) + page - 1) & ~(page - 1)
        let end = UInt(bitPattern: base + buffer.count) & ~(page - 1)
        guard end > start else { return }
        // Advice only: a refusal (no THP in this kernel) leaves 4 KiB pages.
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), MADV_HUGEPAGE)
        #endif
    }
}
