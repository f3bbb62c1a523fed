import Testing
@testable import PGEngine

/// Descriptor values for every protection combination at every level, checked
/// against values derived by hand from the architecture's bit positions (and,
/// where the conformance logs show one, the kernel's value).
@Suite("Descriptors")
struct DescriptorTests {
    /// The expected attribute bits, written as the sum of each letter's effect.
    static func expectedAttributes(_ prot: Prot, stage: Stage) -> UInt64 {
        let af: UInt64 = 0x400
        let share: UInt64 = prot.contains(.cache) ? 0x300 : 0x200
        let xn: UInt64 = prot.contains(.noExec) ? 0x0060_0000_0000_0000 : 0
        if stage == .one {
            let ng: UInt64 = 0x800
            let unpriv: UInt64 = prot.contains(.priv) ? 0 : 0x40
            let readOnly: UInt64 = prot.contains(.read) && !prot.contains(.write) ? 0x80 : 0
            let attrIndex: UInt64 = prot.contains(.mmio) ? 0x8 : prot.contains(.cache) ? 0x4 : 0
            return af | share | xn | ng | unpriv | readOnly | attrIndex
        }
        let hap: UInt64 = (prot.contains(.read) ? 0x40 : 0) | (prot.contains(.write) ? 0x80 : 0)
        let memAttr: UInt64 = prot.contains(.mmio) ? 0x4 : prot.contains(.cache) ? 0x3C : 0x14
        return af | share | xn | hap | memAttr
    }

    static let allProts: [Prot] = (0..<64).map { Prot(rawValue: $0) }.filter { $0.contains(.read) || $0.contains(.write) }

    @Test("known kernel values")
    func kernelValues() throws {
        let s1 = DescriptorFormat(stage: .one, granule: .size4K)
        #expect(s1.leaf(paddr: 0x8000_0000, attributes: s1.attributes(for: [.read, .write]), level: 3) == 0x0000_0000_8000_0E43)
        #expect(s1.leaf(paddr: 0x1_0000_0000, attributes: s1.attributes(for: [.read, .write, .cache]), level: 2) == 0x0000_0001_0000_0F45)
        #expect(s1.leaf(paddr: 0x8000_0000, attributes: s1.attributes(for: [.read]), level: 2) == 0x0000_0000_8000_0EC1)
        #expect(s1.table(at: 0x4000_1000) | DescriptorBits.swSync == 0x0080_0000_4000_1003)
    }

    @Test("every prot combination, pages and blocks, both stages", arguments: Stage.allCases)
    func everyCombination(_ stage: Stage) throws {
        for granule in Granule.allCases {
            let g = try Geometry(PageTableConfig(stage: stage, granule: granule))
            let f = DescriptorFormat(stage: stage, granule: granule)
            for prot in Self.allProts {
                let attrs = Self.expectedAttributes(prot, stage: stage)
                #expect(f.attributes(for: prot) == attrs, "\(stage) \(prot)")
                for level in g.startLevel..<Geometry.maxLevels where g.pgsizeBitmap & g.blockSize(level) != 0 {
                    let pa: UInt64 = g.blockSize(level) * 3
                    let type: UInt64 = level == 3 ? 3 : 1
                    let value = f.leaf(paddr: pa, attributes: f.attributes(for: prot), level: level)
                    #expect(value == attrs | pa | type, "\(stage) \(granule) L\(level) \(prot)")
                    let decoded = f.decode(value, level: level)
                    #expect(decoded.kind == (level == 3 ? .page : .block))
                    #expect(decoded.outputAddress == pa)
                }
            }
        }
    }

    @Test("table descriptors: address, type, SW_SYNC and NSTABLE")
    func tables() {
        let f = DescriptorFormat(stage: .one, granule: .size4K)
        #expect(f.table(at: 0x4000_3000) == 0x0000_0000_4000_3003)
        let ns = DescriptorFormat(stage: .one, granule: .size4K, nonSecure: true)
        #expect(ns.table(at: 0x4000_3000) == 0x8000_0000_4000_3003)
        #expect(ns.attributes(for: [.read]) & DescriptorBits.nonSecure != 0)
        let d = f.decode(0x0080_0000_4000_3003, level: 1)
        #expect(d.kind == .table && d.outputAddress == 0x4000_3000 && d.attributes == ["SYNCED"])
    }

    @Test("52-bit output addresses with the 64K granule fold PA[51:48] into bits 15:12")
    func largePhysicalAddresses() {
        let f = DescriptorFormat(stage: .one, granule: .size64K)
        let pa: UInt64 = 0x000F_0000_0001_0000
        #expect(f.addressBits(pa) == 0x0000_0000_0001_F000)
        #expect(f.outputAddress(f.addressBits(pa) | 3) == pa)
    }

    @Test("decoded attribute names")
    func names() {
        let f = DescriptorFormat(stage: .one, granule: .size4K)
        #expect(f.decode(0x0000_0000_8000_0E43, level: 3).attributes == ["RW", "USR", "OSH", "AF", "NG", "MEM/NORMAL-NC"])
        #expect(f.decode(0x0060_0001_0000_0F45, level: 2).attributes == ["RW", "USR", "NX", "SHD", "AF", "NG", "MEM/NORMAL"])
        let s2 = DescriptorFormat(stage: .two, granule: .size4K)
        #expect(s2.decode(0x6D7 | 0x8000_0000, level: 3).attributes == ["RW", "OSH", "AF", "MEM/NORMAL-NC"])
    }
}
