/// `iova_to_phys`.
///
/// The kernel looks an address up one level at a time, indexing each table
/// with `ARM_LPAE_LVL_IDX`, which keeps only that level's index bits (the
/// start level's `pgd_bits` of them). Bits at and above the IAS therefore
/// never reach an index, and an IOVA above the input address size is not
/// refused: it answers for the aliased IOVA `iova & (2^IAS - 1)`. The lookup
/// here descends the same way, so it answers the same, rather than riding the
/// range walker, which bounds each table by the IOVAs it translates.
extension IOPageTable {
    /// The physical address `iova` translates to in the CPU view, or 0 when unmapped.
    @discardableResult
    public func iovaToPhys(_ iova: UInt64) -> CallResult {
        let call = beginCall(Call(kind: .iovaToPhys, iova: iova))
        let result = CallResult(ret: 0, value: translate(iova)?.pa ?? 0)
        endCall(call, .iovaToPhys, result)
        return result
    }

    /// The leaf the kernel's lookup of `iova` reaches in the CPU view, if any:
    /// at each level the entry `ARM_LPAE_LVL_IDX(iova, level)` of the table,
    /// down through table descriptors, to a leaf (found) or anything else (none).
    public func translate(_ iova: UInt64) -> (pa: UInt64, pte: UInt64, level: Int, table: Int, index: Int)? {
        guard !isFreed, !tables.isEmpty else { return nil }
        var table = root
        var level = geometry.startLevel
        while level < Geometry.maxLevels {
            let index = geometry.index(of: iova, level: level)
            let pte = entry(index, of: table)
            if DescriptorFormat.isLeaf(pte, level: level) {
                let offset = iova & (geometry.blockSize(level) - 1)
                return (format.outputAddress(pte) | offset, pte, level, table, index)
            }
            guard DescriptorFormat.isTable(pte, level: level) else { return nil }
            table = child(of: pte)
            guard table >= 0 else { return nil }
            level += 1
        }
        return nil
    }
}
