import PGEngine

/// Map/unmap loops of one buffer, as the kernel's dma_map_benchmark drives the
/// IOMMU: each loop maps the buffer (`dma_map_single` ends in `iommu_map`) and
/// unmaps it again (`iommu_unmap` with its invalidation).
public struct DMABenchWorkload: Sequence, Sendable {
    public var loops: Int
    public var size: UInt64
    public var iova: UInt64
    public var paddr: UInt64

    public init(loops: Int, size: UInt64, iova: UInt64 = 0xFFF0_0000, paddr: UInt64 = 0x8_0000_0000) {
        self.loops = loops
        self.size = size
        self.iova = iova
        self.paddr = paddr
    }

    public func makeIterator() -> Iterator { Iterator(workload: self) }

    public struct Iterator: IteratorProtocol {
        let workload: DMABenchWorkload
        var step = 0
        public mutating func next() -> Call? {
            guard step < workload.loops * 2 else { return nil }
            defer { step += 1 }
            if step % 2 == 0 {
                return Call(kind: .iommuMap, iova: workload.iova, paddr: workload.paddr, size: workload.size, prot: [.read, .write])
            }
            return Call(kind: .iommuUnmap, iova: workload.iova, size: workload.size)
        }
    }
}
