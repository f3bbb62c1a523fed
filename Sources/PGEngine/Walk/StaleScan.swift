/// Finds descriptors in a range that the device cannot see as the CPU wrote them:
/// the leaves and empty entries of the range and the table descriptors on the
/// way to them.
extension IOPageTable {
    public struct StaleEntry: Sendable, Hashable {
        public var table: Int
        public var index: Int
        public var level: Int
        public var cpu: UInt64
        public var memory: UInt64
    }

    public func staleEntries(iova: UInt64, size: UInt64) -> [StaleEntry] {
        guard !coherentWalk else { return [] }
        var scan = StaleScanner(engine: self)
        walk(iova: iova, size: size, visitor: &scan)
        return scan.found
    }
}

struct StaleScanner<Sink: EventSink>: RangeVisitor {
    let engine: IOPageTable<Sink>
    var found: [IOPageTable<Sink>.StaleEntry] = []

    mutating func check(table: Int, level: Int, index: Int) {
        let pa = engine.tables[table].pa + UInt64(index) * 8
        if engine.memory.isStale(at: pa) {
            found.append(.init(table: table, index: index, level: level, cpu: engine.memory.cpuValue(at: pa),
                               memory: engine.memory.deviceValue(at: pa)))
        }
    }

    mutating func run(table: Int, level: Int, index: Int, count: Int) {
        for i in index..<(index + count) { check(table: table, level: level, index: i) }
    }

    mutating func tableEntry(table: Int, level: Int, index: Int, pte: UInt64) -> Bool {
        check(table: table, level: level, index: index)
        return true
    }
}
