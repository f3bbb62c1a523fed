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
    /// storage for at least `capacity` words. `sparse`: only a few scattered
    /// words will be written (a state decoded in part), so the storage is
    /// left in 4 KiB pages: a huge page would fault in, and zero, 2 MiB for
    /// each of them.
    init(tableMemory source: [UInt64], count: Int, capacity: Int, sparse: Bool = false) {
        let copied = Swift.min(source.count, count)
        self.init(unsafeUninitializedCapacity: Swift.max(capacity, count)) { buffer, initialized in
            if !sparse { Self.adviseHugePages(buffer) }
            guard let base = buffer.baseAddress else { initialized = 0; return }
            source.withUnsafeBufferPointer { from in
                if copied > 0, let src = from.baseAddress { base.initialize(from: src, count: copied) }
            }
            Self.zero(base + copied, count: count - copied)
            initialized = count
        }
    }

    /// Zeroes `count` words at `start`. The whole pages of a large range are
    /// given back to the kernel instead (`madvise(MADV_DONTNEED)`), which
    /// maps them zero-filled when they are next touched: a state whose
    /// table memory is decoded only in part (WordSelection.swift) then
    /// never faults in, nor writes, the rest. Where the call is not
    /// available or refuses, the words are written.
    private static func zero(_ start: UnsafeMutablePointer<UInt64>, count: Int) {
        #if canImport(Glibc)
        if count * 8 >= hugePageBytes {
            let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
            let lo = UInt(bitPattern: start), hi = UInt(bitPattern: start + count)
            let first = (lo + page - 1) & ~(page - 1), last = hi & ~(page - 1)
            if last > first, madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED) == 0 {
                let head = Int(first - lo) / 8, tail = Int(hi - last) / 8
                start.initialize(repeating: 0, count: head)
                (start + (count - tail)).initialize(repeating: 0, count: tail)
                return
            }
        }
        #endif
        start.initialize(repeating: 0, count: count)
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
