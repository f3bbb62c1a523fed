/// One line the kernel helper writes (protocol 1, docs/KERNEL-HELPER.md).
public enum HelperLine: Sendable, Hashable {
    /// `A ID PA BYTES`: a table page allocated (zeroed), `BYTES` as the allocator handed it out.
    case alloc(id: Int, pa: UInt64, allocBytes: UInt64)
    /// `M ID SIZE`: `dma_map_single` of a new table: a clean of its first `SIZE` bytes.
    case dmaMap(id: Int, size: UInt64)
    /// `S ID INDEX COUNT`: `dma_sync_single_for_device` of `COUNT` descriptors from `INDEX`.
    case sync(id: Int, index: Int, count: Int)
    /// `U ID SIZE`: `dma_unmap_single` before a table is freed.
    case dmaUnmap(id: Int, size: UInt64)
    /// `F ID`: the table page freed.
    case free(id: Int)
    /// `W ID INDEX OLD NEW`: a descriptor store (plain, WRITE_ONCE or a successful cmpxchg).
    case write(id: Int, index: Int, old: UInt64, new: UInt64)
    /// `T all`, `T walk IOVA SIZE GRANULE`, `T page IOVA GRANULE`: the flush ops io-pgtable called.
    case flushAll
    case flushWalk(iova: UInt64, size: UInt64, granule: UInt64)
    case addPage(iova: UInt64, granule: UInt64)
    /// `WARN FILE:LINE CONDITION`.
    case warn(site: String, condition: String)
    /// `BUG FILE:LINE CONDITION`: the helper exits after it.
    case bug(site: String, condition: String)
    /// `G start_level=.. bits_per_level=.. pgd_bits=.. pgsize_bitmap=.. ias=.. oas=..` after a successful alloc.
    case geometry(KernelGeometry)
    /// `R RET VALUE`: the step's end.
    case result(ret: Int64, value: UInt64)
    /// `E REASON`: the step was refused (bad syntax, no live tables).
    case refused(String)

    /// Parses one line (without its newline); nil when it is none of the above.
    public init?(_ line: Substring) {
        let f = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let tag = f.first else { return nil }
        func n(_ i: Int) -> UInt64? {
            guard i < f.count else { return nil }
            let s = f[i]
            return s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
        }
        func id(_ i: Int) -> Int? { n(i).map { Int($0) } }
        switch tag {
        case "W":
            guard f.count == 5, let t = id(1), let i = id(2), let o = n(3), let v = n(4) else { return nil }
            self = .write(id: t, index: i, old: o, new: v)
        case "S":
            guard f.count == 4, let t = id(1), let i = id(2), let c = id(3) else { return nil }
            self = .sync(id: t, index: i, count: c)
        case "A":
            guard f.count == 4, let t = id(1), let pa = n(2), let b = n(3) else { return nil }
            self = .alloc(id: t, pa: pa, allocBytes: b)
        case "M", "U":
            guard f.count == 3, let t = id(1), let s = n(2) else { return nil }
            self = tag == "M" ? .dmaMap(id: t, size: s) : .dmaUnmap(id: t, size: s)
        case "F":
            guard f.count == 2, let t = id(1) else { return nil }
            self = .free(id: t)
        case "T":
            switch f.count > 1 ? f[1] : "" {
            case "all" where f.count == 2: self = .flushAll
            case "walk" where f.count == 5:
                guard let a = n(2), let s = n(3), let g = n(4) else { return nil }
                self = .flushWalk(iova: a, size: s, granule: g)
            case "page" where f.count == 4:
                guard let a = n(2), let g = n(3) else { return nil }
                self = .addPage(iova: a, granule: g)
            default: return nil
            }
        case "WARN", "BUG":
            guard f.count >= 2 else { return nil }
            let condition = f.dropFirst(2).joined(separator: " ")
            self = tag == "WARN" ? .warn(site: String(f[1]), condition: condition)
                                 : .bug(site: String(f[1]), condition: condition)
        case "R":
            guard f.count == 3, let r = Int64(f[1]), let v = n(2) else { return nil }
            self = .result(ret: r, value: v)
        case "E":
            self = .refused(f.dropFirst().joined(separator: " "))
        case "G":
            guard let g = KernelGeometry(fields: f.dropFirst()) else { return nil }
            self = .geometry(g)
        default:
            return nil
        }
    }
}

/// The kernel's geometry after `alloc_io_pgtable_ops`, which may differ from
/// pgstore's (6.12 concatenates stage-2 roots in more cases than mainline).
public struct KernelGeometry: Sendable, Hashable {
    public var startLevel: Int
    public var bitsPerLevel: Int
    public var pgdBits: Int
    public var pgsizeBitmap: UInt64
    public var ias: Int
    public var oas: Int

    init?(fields: ArraySlice<Substring>) {
        var v: [Substring: UInt64] = [:]
        for field in fields {
            let kv = field.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { return nil }
            v[kv[0]] = kv[1].hasPrefix("0x") ? UInt64(kv[1].dropFirst(2), radix: 16) : UInt64(kv[1])
        }
        guard let s = v["start_level"], let b = v["bits_per_level"], let p = v["pgd_bits"],
              let m = v["pgsize_bitmap"], let i = v["ias"], let o = v["oas"] else { return nil }
        startLevel = Int(s); bitsPerLevel = Int(b); pgdBits = Int(p); pgsizeBitmap = m; ias = Int(i); oas = Int(o)
    }

    /// Bytes a block or page at `level` maps.
    public func blockSize(_ level: Int) -> UInt64 { 1 << UInt64((4 - level) * bitsPerLevel + 3) }
    /// Bytes of a table at `level`: the PGD at the start level, a granule below.
    public func tableBytes(_ level: Int) -> UInt64 { 8 << UInt64(level == startLevel ? pgdBits : bitsPerLevel) }
}

extension KernelGeometry {
    /// Before the kernel has answered an alloc.
    static let unknown = KernelGeometry(startLevel: -1, bitsPerLevel: 0, pgdBits: 0, pgsizeBitmap: 0, ias: 0, oas: 0)

    init(startLevel: Int, bitsPerLevel: Int, pgdBits: Int, pgsizeBitmap: UInt64, ias: Int, oas: Int) {
        self.startLevel = startLevel; self.bitsPerLevel = bitsPerLevel; self.pgdBits = pgdBits
        self.pgsizeBitmap = pgsizeBitmap; self.ias = ias; self.oas = oas
    }
}
