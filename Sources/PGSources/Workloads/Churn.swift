import PGEngine

/// Random map/unmap of mixed sizes over a bounded IOVA space: the `churn`
/// generator. The IOVA space is cut into equal slots; each operation picks a
/// slot and maps something into it when it is free (pages, a block, or a
/// scatter-gather list) or unmaps what it holds. Never overlaps, so every call
/// is one the kernel would accept.
public struct ChurnWorkload: Sequence, Sendable {
    public var operations: Int
    public var seed: UInt64
    public let geometry: Geometry

    public init(operations: Int, seed: UInt64 = 1, geometry: Geometry) {
        self.operations = operations
        self.seed = seed
        self.geometry = geometry
    }

    /// Bytes per slot: two blocks of the level above the last.
    public var slotSize: UInt64 { geometry.blockSize(Geometry.maxLevels - 2) * 2 }
    /// Slots in play (at most 1024, fewer when the IAS is small).
    public var slots: Int { Int(Swift.min(1024, (UInt64(1) << UInt64(Swift.min(geometry.ias, 62))) / slotSize)) }

    public func makeIterator() -> Iterator { Iterator(workload: self) }

    public struct Iterator: IteratorProtocol {
        let workload: ChurnWorkload
        var rng: SplitMix64
        var emitted = 0
        /// What each slot holds: (size mapped) or nil.
        var held: [UInt64?]
        let page: UInt64
        let block: UInt64
        let paLimit: UInt64

        init(workload: ChurnWorkload) {
            self.workload = workload
            rng = SplitMix64(seed: workload.seed)
            held = Array(repeating: nil, count: Swift.max(workload.slots, 1))
            page = workload.geometry.minPageSize
            block = workload.geometry.blockSize(Geometry.maxLevels - 2)
            paLimit = UInt64(1) << UInt64(Swift.min(workload.geometry.oas, 48))
        }

        mutating func physical(aligned alignment: UInt64, size: UInt64) -> UInt64 {
            let frames = (paLimit - size) / alignment
            return (rng.next() % Swift.max(frames, 1)) * alignment
        }

        public mutating func next() -> Call? {
            guard emitted < workload.operations, workload.slots > 0 else { return nil }
            emitted += 1
            let slot = Int(rng.next() % UInt64(held.count))
            let base = UInt64(slot) * workload.slotSize
            if let size = held[slot] {
                held[slot] = nil
                return Call(kind: .iommuUnmap, iova: base, size: size)
            }
            let prot: Prot = rng.next() % 4 == 0 ? [.read] : [.read, .write]
            let choice = rng.next() % 100
            if choice < 60 {
                let count = 1 + rng.next() % 32
                let size = count * page
                held[slot] = size
                return Call(kind: .iommuMap, iova: base, paddr: physical(aligned: page, size: size), size: size, prot: prot)
            } else if choice < 75 {
                held[slot] = block
                return Call(kind: .iommuMap, iova: base, paddr: physical(aligned: block, size: block), size: block, prot: prot)
            } else {
                let count = 1 + Int(rng.next() % 64)
                let segments = (0..<count).map { _ in Segment(paddr: physical(aligned: page, size: page), length: page) }
                held[slot] = UInt64(count) * page
                return Call(kind: .iommuMapSG, iova: base, prot: prot, segments: segments)
            }
        }
    }
}
