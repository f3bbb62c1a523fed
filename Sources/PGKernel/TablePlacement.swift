import PGEngine

/// Where each table a step allocates hangs in the tree. The kernel allocates a
/// table before it installs it (and, splitting a block in 6.12, writes into it
/// first), so a step's lines are scanned whole before any event is built: the
/// install is the write of a table descriptor that points at the new page.
struct TablePlacement {
    struct Place {
        var level: Int
        var parent: Int?
        var parentIndex: Int
        var iovaBase: UInt64
    }

    let geometry: KernelGeometry
    /// Tables placed by this step, by id.
    private(set) var placed: [Int: Place] = [:]
    private var known: [TableInfo]
    private var unplaced: [UInt64: Int] = [:]

    init(geometry: KernelGeometry, known: [TableInfo]) {
        self.geometry = geometry
        self.known = known
    }

    mutating func scan(_ lines: [HelperLine], isAlloc: Bool) throws(KernelError) {
        var geometryLine: KernelGeometry?
        for case .geometry(let g) in lines { geometryLine = g }
        let g = geometryLine ?? geometry
        for line in lines {
            switch line {
            case .alloc(let id, let pa, _):
                if isAlloc && id == 0 {
                    placed[id] = Place(level: g.startLevel, parent: nil, parentIndex: 0, iovaBase: 0)
                } else {
                    unplaced[pa] = id
                }
            case .write(let id, let index, _, let new):
                place(g, parent: id, index: index, descriptor: new)
            default:
                break
            }
        }
        if let id = unplaced.values.min() { throw .unplacedTable(id: id) }
    }

    private mutating func place(_ g: KernelGeometry, parent: Int, index: Int, descriptor: UInt64) {
        guard !unplaced.isEmpty, descriptor & 3 == 3, let p = level(of: parent), p.level < 3 else { return }
        let pa = descriptor & 0x0000_ffff_ffff_f000
        guard let child = unplaced.removeValue(forKey: pa) else { return }
        placed[child] = Place(level: p.level + 1, parent: parent, parentIndex: index,
                              iovaBase: p.iovaBase &+ UInt64(index) &* g.blockSize(p.level))
    }

    private func level(of id: Int) -> (level: Int, iovaBase: UInt64)? {
        if let p = placed[id] { return (p.level, p.iovaBase) }
        guard id < known.count else { return nil }
        return (known[id].level, known[id].iovaBase)
    }
}
