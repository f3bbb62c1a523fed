import PGEngine

/// The workloads `check-kernel` runs through a kernel tree and through the
/// engine: what the kernel's own selftests iterate (both stages, every
/// granule, the IAS/OAS pairs the kernel accepts) and what a driver does to
/// a table (page and block maps, multi-page maps crossing a table's end,
/// EEXIST, partial unmaps including part of a block, unmaps of holes,
/// iova_to_phys, sync_map, the core's iommu_map and iommu_unmap). Workload
/// `index` of seed `seed` is always the same calls.
public struct KernelCheckWorkload: Sendable {
    public let index: Int
    public let seed: UInt64
    public let config: PageTableConfig
    public let calls: [Call]

    /// The address sizes drawn from; configurations the kernel refuses are drawn again.
    static let addressBits = [32, 36, 40, 42, 44, 48]

    /// Workload `index` of `seed`, for the kernel `profile` (whose configuration rules it follows).
    public init(seed: UInt64, index: Int, profile: KernelProfile, coherentWalk: Bool? = nil) {
        self.index = index
        self.seed = seed
        var rng = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1))
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        var config: PageTableConfig
        var geometry: Geometry
        while true {
            var c = PageTableConfig()
            c.stage = rng.next() % 2 == 0 ? .one : .two
            c.granule = pick([Granule.size4K, .size16K, .size64K])
            c.ias = pick(Self.addressBits)
            c.oas = pick(Self.addressBits)
            c.coherentWalk = coherentWalk ?? (rng.next() % 4 == 0)
            c.profile = profile
            if let g = try? c.checked() {
                config = c
                geometry = g
                break
            }
        }
        self.config = config
        var calls = CallMaker(geometry: geometry, rng: rng)
        calls.make(count: 24 + Int(calls.rng.next() % 24))
        self.calls = calls.calls
    }

    /// The workload as a `.pgs` script `pgstore run` and `record` take.
    public var script: String {
        var lines = ["# check-kernel workload \(index) of seed \(seed)", config.scriptLine]
        lines += calls.compactMap(\.scriptLine)
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Draws the calls of one workload against a model of what is mapped.
private struct CallMaker {
    let geometry: Geometry
    var rng: SplitMix64
    var calls: [Call] = []
    /// What has been mapped (IOVA, size, page size): the targets of EEXIST, unmaps and lookups.
    var mapped: [(iova: UInt64, size: UInt64, pgsize: UInt64)] = []

    init(geometry: Geometry, rng: SplitMix64) {
        self.geometry = geometry
        self.rng = rng
    }

    var page: UInt64 { geometry.minPageSize }
    /// The page and block sizes of the table, smallest first.
    var sizes: [UInt64] { (0..<64).compactMap { geometry.pgsizeBitmap & (1 << UInt64($0)) != 0 ? 1 << UInt64($0) : nil } }
    /// The IOVA span the workload uses: the whole IAS, at most 2^40 bytes (so blocks of every level fit).
    var span: UInt64 { 1 << UInt64(min(geometry.ias, 40)) }

    mutating func draw(_ n: UInt64) -> UInt64 { n == 0 ? 0 : rng.next() % n }
    mutating func prot() -> Prot { [[.read, .write], [.read], [.read, .write, .cache], [.read, .noExec], [.read, .write, .priv], [.write]][Int(draw(6))] }
    mutating func paddr(_ size: UInt64) -> UInt64 {
        let limit = UInt64(1) << UInt64(min(geometry.oas, 40))
        return draw(max(limit / size, 1)) * size
    }
    /// An IOVA aligned to `size` with `bytes` of room after it.
    mutating func iova(aligned size: UInt64, room bytes: UInt64) -> UInt64 {
        let slots = bytes >= span ? 1 : (span - bytes) / size
        return draw(max(slots, 1)) * size
    }

    mutating func make(count: Int) {
        for _ in 0..<count {
            switch draw(16) {
            case 0, 1, 2: mapPages(crossing: false)
            case 3: mapPages(crossing: true)
            case 4: mapBlock()
            case 5: remap()
            case 6, 7: unmapWhole()
            case 8: unmapPart()
            case 9: unmapPartOfBlock()
            case 10: unmapHole()
            case 11: lookup()
            case 12: syncMap()
            case 13: calls.append(Call(kind: .iotlbSync))
            case 14: iommuMap()
            default: iommuUnmap()
            }
        }
        calls.append(Call(kind: .iotlbSync))
    }

    mutating func mapPages(crossing: Bool) {
        let count = 1 + draw(crossing ? 8 : 4)
        var start: UInt64
        if crossing {
            // The last pages of one leaf table and the first of the next.
            let table = geometry.blockSize(Geometry.maxLevels - 2)
            start = iova(aligned: table, room: 2 * table) + table - page * (1 + draw(count))
        } else {
            start = iova(aligned: page, room: count * page)
        }
        start %= span
        calls.append(.mapPages(iova: start, paddr: paddr(page), pgsize: page, pgcount: count, prot: prot()))
        mapped.append((start, count * page, page))
    }

    mutating func mapBlock() {
        let blocks = sizes.dropFirst().filter { $0 <= span / 4 }
        guard let size = blocks.randomElement(using: &rng) else { return mapPages(crossing: false) }
        let count = 1 + draw(2)
        let iova = iova(aligned: size, room: count * size)
        calls.append(.mapPages(iova: iova, paddr: paddr(size), pgsize: size, pgcount: count, prot: prot()))
        mapped.append((iova, count * size, size))
    }

    /// A map over something mapped: -EEXIST, nothing changed.
    mutating func remap() {
        guard let m = mapped.randomElement(using: &rng) else { return mapPages(crossing: false) }
        calls.append(.mapPages(iova: m.iova, paddr: paddr(m.pgsize), pgsize: m.pgsize, pgcount: 1, prot: prot()))
    }

    mutating func unmapWhole() {
        guard !mapped.isEmpty else { return unmapHole() }
        let m = mapped.remove(at: Int(draw(UInt64(mapped.count))))
        calls.append(.unmapPages(iova: m.iova, pgsize: m.pgsize, pgcount: m.size / m.pgsize))
    }

    /// Some of the pages of a mapping, from somewhere inside it.
    mutating func unmapPart() {
        guard let m = mapped.randomElement(using: &rng), m.size / m.pgsize > 1 else { return unmapWhole() }
        let n = m.size / m.pgsize
        let first = draw(n)
        calls.append(.unmapPages(iova: m.iova + first * m.pgsize, pgsize: m.pgsize, pgcount: 1 + draw(n - first)))
    }

    /// Pages inside a block (mainline refuses; 6.12 splits the block).
    mutating func unmapPartOfBlock() {
        guard let m = mapped.first(where: { $0.pgsize > page }) else { return unmapPart() }
        let inside = draw(m.size / page)
        calls.append(.unmapPages(iova: m.iova + inside * page, pgsize: page, pgcount: 1 + draw(3)))
    }

    mutating func unmapHole() {
        calls.append(.unmapPages(iova: iova(aligned: page, room: page), pgsize: page, pgcount: 1))
    }

    mutating func lookup() {
        if let m = mapped.randomElement(using: &rng), draw(4) != 0 {
            calls.append(Call(kind: .iovaToPhys, iova: m.iova + draw(m.size)))
        } else {
            calls.append(Call(kind: .iovaToPhys, iova: draw(span)))
        }
    }

    mutating func syncMap() {
        guard let m = mapped.randomElement(using: &rng) else { return lookup() }
        calls.append(Call(kind: .iotlbSyncMap, iova: m.iova, size: m.size))
    }

    /// Through the core's page-size split: an unaligned-to-block range of mixed sizes.
    mutating func iommuMap() {
        let size = page * (1 + draw(geometry.blockSize(Geometry.maxLevels - 2) / page + 8))
        let iova = iova(aligned: page, room: size)
        calls.append(Call(kind: .iommuMap, iova: iova, paddr: paddr(page), size: size, prot: prot()))
        mapped.append((iova, size, page))
    }

    mutating func iommuUnmap() {
        guard !mapped.isEmpty else { return unmapHole() }
        let m = mapped.remove(at: Int(draw(UInt64(mapped.count))))
        calls.append(Call(kind: .iommuUnmap, iova: m.iova, size: m.size))
    }
}
