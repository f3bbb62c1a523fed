/// The memory that holds table pages, seen two ways: what the CPU that writes
/// the tables has in its cache (the CPU view) and what a non-coherent SMMU walk
/// reads from DRAM (the memory view).
///
/// A write changes the CPU view and dirties its cache line. A clean copies the
/// CPU view of each touched line to memory and marks the line clean. Nothing is
/// ever evicted on its own: a dirty line stays invisible to the device until it
/// is cleaned, the worst case the kernel must guard against. With a coherent
/// walk the two views are one and no line is ever dirty.
public struct PhysicalMemory: Sendable {
    /// Physical address of the first byte modelled.
    public let base: UInt64
    /// Cache line size in bytes (a power of two, at least 8).
    public let lineSize: Int
    public let coherent: Bool
    let lineShift: Int
    let wordsPerLine: Int

    var cpu: [UInt64] = []
    var memory: [UInt64] = []
    var dirty: [UInt64] = []   // one bit per line
    /// One bit per page of ``wordsPerPage`` words changed in either view (or
    /// in its dirty bits) since ``clearTouched()``: a checkpoint looks at
    /// those pages only, not the whole state.
    private(set) var touched: [UInt64] = []
    /// Words per tracked page: 4 KiB.
    public static let wordsPerPage = 512

    /// The words of `pages` (ascending) below `limit`, as ranges: adjacent
    /// pages make one range, and a loop over plain ranges runs several times
    /// faster than one over a lazily flattened sequence of them.
    public static func wordRanges(ofPages pages: [Int], below limit: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for p in pages {
            let lo = p * wordsPerPage, hi = min(lo + wordsPerPage, limit)
            guard lo < hi else { continue }
            if let last = ranges.last, last.upperBound == lo {
                ranges[ranges.count - 1] = last.lowerBound..<hi
            } else {
                ranges.append(lo..<hi)
            }
        }
        return ranges
    }

    public init(base: UInt64, lineSize: Int, coherent: Bool) {
        self.base = base
        self.lineSize = lineSize
        self.coherent = coherent
        self.lineShift = lineSize.trailingZeroBitCount
        self.wordsPerLine = lineSize / 8
    }

    /// Bytes currently backed.
    public var size: UInt64 { UInt64(cpu.count) * 8 }

    /// Backs at least `bytes`, in steps of 512 KiB. Appending grows the
    /// arrays' capacity geometrically, so growing costs amortised O(1) a word;
    /// only the words backed are zeroed (doubling the count itself zeroed, and
    /// faulted in, as much again as the state: most of a diff inside a long map_sg).
    mutating func grow(toBytes bytes: UInt64) {
        let words = Int(bytes / 8)
        guard words > cpu.count else { return }
        let step = 1 << 16
        let newCount = (words + step - 1) / step * step
        cpu.resize(to: newCount)
        if !coherent {
            if memory.count < newCount { memory.resize(to: newCount) }
            let lines = newCount / wordsPerLine
            let dirtyWords = (lines + 63) / 64
            if dirty.count < dirtyWords { dirty.resize(to: dirtyWords) }
        }
        growTouched()
    }

    private mutating func growTouched() {
        let pages = (cpu.count + Self.wordsPerPage - 1) / Self.wordsPerPage
        let words = (pages + 63) / 64
        if touched.count < words { touched.append(contentsOf: repeatElement(0, count: words - touched.count)) }
    }

    @inline(__always)
    private mutating func touch(word i: Int) {
        let page = i / Self.wordsPerPage
        touched[page >> 6] |= 1 << UInt64(page & 63)
    }

    /// The pages changed since the last ``clearTouched()``, ascending.
    public var touchedPages: [Int] {
        let count = (cpu.count + Self.wordsPerPage - 1) / Self.wordsPerPage
        var pages: [Int] = []
        for (k, bits) in touched.enumerated() where bits != 0 {
            var b = bits
            while b != 0 {
                let page = k * 64 + b.trailingZeroBitCount
                if page < count { pages.append(page) }
                b &= b - 1
            }
        }
        return pages
    }

    mutating func clearTouched() {
        for k in touched.indices { touched[k] = 0 }
    }

    @inline(__always)
    func wordIndex(_ pa: UInt64) -> Int { Int(truncatingIfNeeded: (pa &- base) >> 3) }

    @inline(__always)
    func contains(_ pa: UInt64) -> Bool { pa >= base && pa &- base < size }

    /// The CPU's value of the descriptor at `pa`.
    @inline(__always)
    public func cpuValue(at pa: UInt64) -> UInt64 { cpu[wordIndex(pa)] }

    /// What the SMMU reads at `pa`: memory, or the CPU view when the walk is coherent.
    @inline(__always)
    public func deviceValue(at pa: UInt64) -> UInt64 { coherent ? cpu[wordIndex(pa)] : memory[wordIndex(pa)] }

    /// Line number of `pa`, counted from `base`.
    @inline(__always)
    public func line(of pa: UInt64) -> Int { Int(truncatingIfNeeded: (pa &- base) >> UInt64(lineShift)) }

    @inline(__always)
    public func isDirty(line: Int) -> Bool {
        coherent ? false : dirty[line >> 6] & (1 << UInt64(line & 63)) != 0
    }

    /// A CPU store of one descriptor. Returns the old CPU value.
    @inline(__always)
    mutating func store(_ value: UInt64, at pa: UInt64) -> UInt64 {
        let i = wordIndex(pa)
        let old = cpu[i]
        cpu[i] = value
        touch(word: i)
        if !coherent {
            let line = i >> (lineShift - 3)
            dirty[line >> 6] |= 1 << UInt64(line & 63)
        }
        return old
    }

    /// Cleans the lines covering `[pa, pa + bytes)` to memory.
    /// Returns the first line, the number of lines, and how many of them were clean already.
    @discardableResult
    mutating func clean(from pa: UInt64, bytes: UInt64) -> (firstLine: Int, lines: Int, alreadyClean: Int) {
        precondition(bytes > 0)
        let first = line(of: pa)
        let last = line(of: pa &+ bytes &- 1)
        var alreadyClean = 0
        if coherent { return (first, last - first + 1, last - first + 1) }
        for l in first...last {
            let word = l >> 6, bit: UInt64 = 1 << UInt64(l & 63)
            if dirty[word] & bit == 0 {
                alreadyClean += 1
                continue
            }
            dirty[word] &= ~bit
            let start = l * wordsPerLine
            for w in start..<(start + wordsPerLine) { memory[w] = cpu[w] }
            for w in stride(from: start, to: start + wordsPerLine, by: Self.wordsPerPage) { touch(word: w) }
        }
        return (first, last - first + 1, alreadyClean)
    }

    /// True when the device would read something other than the CPU wrote at `pa`:
    /// its line is dirty and the two views differ outside the software bits.
    @inline(__always)
    public func isStale(at pa: UInt64) -> Bool {
        if coherent { return false }
        let i = wordIndex(pa)
        let line = i >> (lineShift - 3)
        guard dirty[line >> 6] & (1 << UInt64(line & 63)) != 0 else { return false }
        return (cpu[i] ^ memory[i]) & ~DescriptorBits.softwareBits != 0
    }

    /// The dirty lines the word ranges `words` (ascending, disjoint) touch,
    /// and their words that are stale (``isStale(at:)``): one pass over
    /// the ranges' dirty bits, reading words only on dirty lines, since a
    /// word on a clean line is never stale.
    public func dirtyLinesAndStaleWords(in words: [Range<Int>]) -> (dirtyLines: Int, stale: Int) {
        guard !coherent else { return (0, 0) }
        let shift = lineShift - 3
        var lines = 0, stale = 0, lastCounted = -1
        for r in words where !r.isEmpty {
            for line in (r.lowerBound >> shift)...((r.upperBound - 1) >> shift)
            where dirty[line >> 6] & (1 << UInt64(line & 63)) != 0 {
                if line != lastCounted {
                    lines += 1
                    lastCounted = line
                }
                for i in max(r.lowerBound, line << shift)..<min(r.upperBound, (line + 1) << shift)
                where (cpu[i] ^ memory[i]) & ~DescriptorBits.softwareBits != 0 {
                    stale += 1
                }
            }
        }
        return (lines, stale)
    }

    /// Replaces the contents (a checkpoint's), growing as needed.
    mutating func load(cpu newCPU: [UInt64], memory newMemory: [UInt64], dirty newDirty: [UInt64]) {
        cpu = newCPU
        if coherent {
            memory = []
            dirty = []
        } else {
            memory = newMemory
            dirty = newDirty
            let lines = cpu.count / wordsPerLine
            if dirty.count < (lines + 63) / 64 { dirty.append(contentsOf: repeatElement(0, count: (lines + 63) / 64 - dirty.count)) }
        }
        // Everything may differ from what a checkpoint last saw.
        growTouched()
        for k in touched.indices { touched[k] = ~0 }
    }

    /// Zeroes the CPU view of `[pa, pa + bytes)`, dirtying its lines (a new table page).
    mutating func zeroCPU(from pa: UInt64, bytes: UInt64) {
        var addr = pa
        while addr < pa + bytes {
            _ = store(0, at: addr)
            addr += 8
        }
    }

}
