/// Bits of a 64-bit Arm LPAE descriptor, with the kernel's names.
public enum DescriptorBits {
    public static let typeMask: UInt64 = 0x3
    public static let typeBlock: UInt64 = 1
    public static let typeTable: UInt64 = 3
    public static let typePage: UInt64 = 3

    public static let addressMask: UInt64 = 0x0000_FFFF_FFFF_F000   // GENMASK_ULL(47, 12)
    public static let nsTable: UInt64 = 1 << 63
    public static let xn: UInt64 = 3 << 53
    public static let dbm: UInt64 = 1 << 51
    public static let accessFlag: UInt64 = 1 << 10
    public static let shareOuter: UInt64 = 2 << 8
    public static let shareInner: UInt64 = 3 << 8
    public static let nonSecure: UInt64 = 1 << 5
    /// Software bit 55: a table descriptor already cleaned for a non-coherent walker.
    public static let swSync: UInt64 = 1 << 55
    /// `ARM_LPAE_PTE_ATTR_MASK`: the bits a block split copies into the new
    /// entries (bits 2-11, XN and DBM; not the contiguous bit, not software bits).
    public static let attributeMask: UInt64 = (0x3FF << 2) | xn | dbm
    /// Bits 55-58 are ignored by the walker (software use); a difference confined
    /// to them is not a difference the SMMU can see.
    public static let softwareBits: UInt64 = 0xF << 55

    // Stage 1.
    public static let apUnpriv: UInt64 = 1 << 6
    public static let apReadOnly: UInt64 = 1 << 7
    public static let notGlobal: UInt64 = 1 << 11
    public static let attrIndexShift: UInt64 = 2
    public static let attrIndexMask: UInt64 = 0x7 << 2
    public static let mairNonCacheable: UInt64 = 0
    public static let mairCache: UInt64 = 1
    public static let mairDevice: UInt64 = 2

    // Stage 2.
    public static let hapRead: UInt64 = 1 << 6
    public static let hapWrite: UInt64 = 2 << 6
    public static let memAttrMask: UInt64 = 0xF << 2
    public static let memAttrWriteBack: UInt64 = 0xF << 2
    public static let memAttrNonCacheable: UInt64 = 0x5 << 2
    public static let memAttrDevice: UInt64 = 0x1 << 2
}

/// Descriptor encoding and decoding for one page table's format.
public struct DescriptorFormat: Sendable, Hashable {
    public let stage: Stage
    public let granule: Granule
    public let nonSecure: Bool

    public init(stage: Stage, granule: Granule, nonSecure: Bool = false) {
        self.stage = stage
        self.granule = granule
        self.nonSecure = nonSecure
    }

    /// `arm_lpae_prot_to_pte`: the attribute bits of a leaf for `prot`.
    public func attributes(for prot: Prot) -> UInt64 {
        typealias B = DescriptorBits
        var pte: UInt64
        if stage == .one {
            pte = B.notGlobal
            if !prot.contains(.write) && prot.contains(.read) { pte |= B.apReadOnly }
            if !prot.contains(.priv) { pte |= B.apUnpriv }
            if prot.contains(.mmio) {
                pte |= B.mairDevice << B.attrIndexShift
            } else if prot.contains(.cache) {
                pte |= B.mairCache << B.attrIndexShift
            }
        } else {
            pte = 0
            if prot.contains(.read) { pte |= B.hapRead }
            if prot.contains(.write) { pte |= B.hapWrite }
            if prot.contains(.mmio) {
                pte |= B.memAttrDevice
            } else if prot.contains(.cache) {
                pte |= B.memAttrWriteBack
            } else {
                pte |= B.memAttrNonCacheable
            }
        }
        pte |= prot.contains(.cache) ? B.shareInner : B.shareOuter
        if prot.contains(.noExec) { pte |= B.xn }
        if nonSecure && stage == .one { pte |= B.nonSecure }
        pte |= B.accessFlag
        return pte
    }

    /// `paddr_to_iopte`: output address bits, with PA[51:48] folded into bits 15:12.
    @inline(__always)
    public func addressBits(_ paddr: UInt64) -> UInt64 {
        (paddr | (paddr >> (48 - 12))) & DescriptorBits.addressMask
    }

    /// `iopte_to_paddr`.
    @inline(__always)
    public func outputAddress(_ pte: UInt64) -> UInt64 {
        let paddr = pte & DescriptorBits.addressMask
        if granule != .size64K { return paddr }
        return (paddr | (paddr << (48 - 12))) & (DescriptorBits.addressMask << 4)
    }

    /// A leaf (page at level 3, block above) for `paddr` with precomputed attributes.
    @inline(__always)
    public func leaf(paddr: UInt64, attributes: UInt64, level: Int) -> UInt64 {
        attributes | (level == Geometry.maxLevels - 1 ? DescriptorBits.typePage : DescriptorBits.typeBlock) | addressBits(paddr)
    }

    /// A table descriptor pointing at `tablePA` (`arm_lpae_install_table`), before the SW_SYNC bit.
    public func table(at tablePA: UInt64) -> UInt64 {
        var pte = addressBits(tablePA) | DescriptorBits.typeTable
        if nonSecure && stage == .one { pte |= DescriptorBits.nsTable }
        return pte
    }

    /// `iopte_leaf`.
    @inline(__always)
    public static func isLeaf(_ pte: UInt64, level: Int) -> Bool {
        level == Geometry.maxLevels - 1 ? pte & DescriptorBits.typeMask == DescriptorBits.typePage
                                        : pte & DescriptorBits.typeMask == DescriptorBits.typeBlock
    }

    /// `iopte_table`.
    @inline(__always)
    public static func isTable(_ pte: UInt64, level: Int) -> Bool {
        level != Geometry.maxLevels - 1 && pte & DescriptorBits.typeMask == DescriptorBits.typeTable
    }

    /// Decodes a descriptor at `level` for people.
    public func decode(_ pte: UInt64, level: Int) -> DecodedDescriptor {
        DecodedDescriptor(value: pte, level: level, format: self)
    }
}

/// The meaning of a descriptor, for dumps and diffs.
public struct DecodedDescriptor: Sendable, Hashable {
    public enum Kind: String, Sendable, Codable { case invalid, table, block, page }

    public let kind: Kind
    public let outputAddress: UInt64
    /// Attribute names in a fixed order, e.g. `["RW", "NX", "SHD", "AF", "NG", "MEM/NORMAL"]`.
    public let attributes: [String]

    init(value pte: UInt64, level: Int, format: DescriptorFormat) {
        typealias B = DescriptorBits
        if pte & 1 == 0 {
            kind = .invalid
            outputAddress = 0
            attributes = pte == 0 ? [] : ["RAW"]
            return
        }
        if DescriptorFormat.isTable(pte, level: level) {
            kind = .table
            outputAddress = format.outputAddress(pte)
            var attrs: [String] = []
            if pte & B.swSync != 0 { attrs.append("SYNCED") }
            if pte & B.nsTable != 0 { attrs.append("NSTABLE") }
            attributes = attrs
            return
        }
        if !DescriptorFormat.isLeaf(pte, level: level) {
            kind = .invalid
            outputAddress = 0
            attributes = ["RESERVED"]
            return
        }
        kind = level == Geometry.maxLevels - 1 ? .page : .block
        outputAddress = format.outputAddress(pte)
        var attrs: [String] = []
        if format.stage == .one {
            attrs.append(pte & B.apReadOnly != 0 ? "ro" : "RW")
            if pte & B.apUnpriv != 0 { attrs.append("USR") }
        } else {
            let r = pte & B.hapRead != 0, w = pte & B.hapWrite != 0
            attrs.append(r && w ? "RW" : r ? "ro" : w ? "wo" : "none")
        }
        if pte & B.xn != 0 { attrs.append("NX") }
        switch pte & (3 << 8) {
        case B.shareInner: attrs.append("SHD")
        case B.shareOuter: attrs.append("OSH")
        default: break
        }
        if pte & B.accessFlag != 0 { attrs.append("AF") }
        if format.stage == .one {
            if pte & B.notGlobal != 0 { attrs.append("NG") }
            if pte & B.nonSecure != 0 { attrs.append("NS") }
            switch (pte & B.attrIndexMask) >> B.attrIndexShift {
            case B.mairDevice: attrs.append("DEVICE/nGnRE")
            case B.mairCache: attrs.append("MEM/NORMAL")
            default: attrs.append("MEM/NORMAL-NC")
            }
        } else {
            switch pte & B.memAttrMask {
            case B.memAttrDevice: attrs.append("DEVICE/nGnRE")
            case B.memAttrWriteBack: attrs.append("MEM/NORMAL")
            case B.memAttrNonCacheable: attrs.append("MEM/NORMAL-NC")
            default: attrs.append("MEMATTR=\(hex((pte & B.memAttrMask) >> 2))")
            }
        }
        attributes = attrs
    }
}
