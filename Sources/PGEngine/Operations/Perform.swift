/// Dispatches a ``Call`` to the operation it names: the one entry point that
/// scripts, traces and generators drive the engine through.
extension IOPageTable {
    @discardableResult
    public func perform(_ call: Call) -> CallResult {
        switch call.kind {
        case .mapPages:
            return mapPages(iova: call.iova, paddr: call.paddr, pgsize: call.size, pgcount: call.count, prot: call.prot)
        case .unmapPages:
            return unmapPages(iova: call.iova, pgsize: call.size, pgcount: call.count)
        case .iovaToPhys:
            return iovaToPhys(call.iova)
        case .iotlbSyncMap:
            return iotlbSyncMap(iova: call.iova, size: call.size)
        case .iommuMap:
            return map(iova: call.iova, paddr: call.paddr, size: call.size, prot: call.prot)
        case .iommuMapSG:
            return mapSG(iova: call.iova, segments: call.segments, prot: call.prot)
        case .iommuUnmap:
            return unmap(iova: call.iova, size: call.size)
        case .iotlbSync:
            return iotlbSync()
        case .access:
            let r = access(iova: call.iova, write: call.prot.contains(.write), privileged: call.prot.contains(.priv))
            return CallResult(ret: r.outcome == .translated ? 0 : -Errno.EFAULT, value: r.pa)
        case .freeTables:
            return freeTables()
        case .allocTables:
            return CallResult()
        }
    }
}
