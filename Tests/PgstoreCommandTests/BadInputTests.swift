import Foundation
import Testing

/// Bad input through the real binary: a clear message naming the place, exit
/// status 2, never a crash.
@Suite("Bad input to pgstore run")
struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var script: String
        var arguments: [String] = []
        /// Fragments the error must contain; `FILE` stands for the script's path.
        var expect: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unknown keyword", script: "map 0x0 0x80000000 4K 1 rw\nmapp 0x0\n", expect: ["FILE:2:1", "unknown keyword \"mapp\""]),
        Case(name: "non-numeric", script: "map 0x0 zz 4K 1 rw\n", expect: ["FILE:1:9", "PADDR"]),
        Case(name: "negative", script: "iova_to_phys -4096\n", expect: ["FILE:1:14", "negative"]),
        Case(name: "overflow", script: "iova_to_phys 0x1ffffffffffffffff\n", expect: ["FILE:1:14", "overflows"]),
        Case(name: "missing argument", script: "unmap 0x0 4K\n", expect: ["FILE:1", "missing PGCOUNT"]),
        Case(name: "unknown prot letter", script: "map 0x0 0x80000000 4K 1 rq\n", expect: ["FILE:1:26", "unknown PROT letter 'q'"]),
        Case(name: "misaligned IOVA", script: "map 0x1234 0x80000000 4K 1 rw\n", expect: ["FILE:1", "IOVA 0x1234 is not aligned"]),
        Case(name: "misaligned PA for iommu_map", script: "iommu_map 0x0 0x80000800 8K rw\n", expect: ["FILE:1", "PADDR 0x80000800 is not aligned"]),
        Case(name: "size not in the bitmap", script: "map 0x0 0x80000000 8K 1 rw\n", expect: ["FILE:1", "page size 0x2000 is not in the page-size bitmap", "4K|2M|1G"]),
        Case(name: "16K page on a 4K table", script: "config granule=4k\nunmap 0x0 16K 1\n", expect: ["FILE:2", "page size 0x4000"]),
        Case(name: "IOVA beyond IAS", script: "config ias=32\nmap 0x100000000 0x80000000 4K 1 rw\n", expect: ["FILE:2", "32-bit input address space"]),
        Case(name: "PA beyond OAS", script: "config oas=32\nmap 0x0 0x100000000 4K 1 rw\n", expect: ["FILE:2", "32-bit output address space"]),
        Case(name: "no read or write", script: "iommu_map 0x0 0x80000000 4K c\n", expect: ["FILE:1", "neither read"]),
        Case(name: "duplicate config", script: "config stage=1\nconfig stage=2\n", expect: ["FILE:2", "duplicate config"]),
        Case(name: "config after a call", script: "tlb_sync\nconfig stage=2\n", expect: ["FILE:2", "config must come before"]),
        Case(name: "NUL byte", script: "map 0x0\u{0} 0x80000000 4K 1 rw\n", expect: ["FILE:1", "NUL"]),
        Case(name: "refused configuration", script: "config oas=39\n", expect: ["OAS 39"]),
        Case(name: "unknown strategy", script: "tlb_sync\n", arguments: ["--strategy", "lazy"], expect: ["--strategy lazy", "eager"]),
        Case(name: "bad granule flag", script: "tlb_sync\n", arguments: ["--granule", "8k"], expect: ["--granule 8k"]),
        Case(name: "bad line size", script: "tlb_sync\n", arguments: ["--line-size", "96"], expect: ["--line-size 96", "power of two"]),
        Case(name: "empty map_sg", script: "map_sg 0x0 rw\n", expect: ["FILE:1", "map_sg"]),
        Case(name: "pgsizes garbage", script: "config pgsizes=4k,lots\n", expect: ["FILE:1:19", "pgsizes: \"lots\" is not a number"]),
        Case(name: "pgsizes size the format cannot have", script: "config pgsizes=4k,8k\n",
             expect: ["FILE:1:19", "pgsizes: page size 8k (0x2000) is not a page or block size of the Arm LPAE format"]),
        Case(name: "pgsizes without the granule's page size", script: "config granule=64k oas=52 pgsizes=512m,4t\n",
             expect: ["FILE:1:27", "pgsizes: the offered page sizes 512M|4T lack the 64K granule's page size 64K"]),
        Case(name: "bad pgsizes flag", script: "tlb_sync\n", arguments: ["--pgsizes", "2m|zz"], expect: ["--pgsizes 2m|zz: \"zz\" is not a number"]),
        Case(name: "pgsizes flag empty after restriction", script: "tlb_sync\n", arguments: ["--granule", "16k", "--pgsizes", "4k"],
             expect: ["--pgsizes 4k: none of the offered page sizes 4K is a size of the 16K granule"]),
    ]

    @Test("clear message, exit status 2, no crash", arguments: cases)
    func rejects(_ c: Case) throws {
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("bad.pgs")
        try Data(c.script.utf8).write(to: file)
        let r = try Binary.run(["run"] + c.arguments + [file.path])
        #expect(!r.signaled, "crashed: \(r.stderr)")
        #expect(r.status == 2, "status \(r.status): \(r.stderr)")
        for fragment in c.expect {
            let f = fragment.replacingOccurrences(of: "FILE", with: file.path)
            #expect(r.stderr.contains(f), "missing \"\(f)\" in: \(r.stderr)")
        }
        #expect(r.stdout.isEmpty, "the run must not start")
    }

    @Test("a missing script names its path")
    func missingFile() throws {
        let r = try Binary.run(["run", "/nonexistent/x.pgs"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("/nonexistent/x.pgs"))
    }

    @Test("invalid UTF-8 is reported at its line")
    func invalidUTF8() throws {
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("bin.pgs")
        try Data([0x74, 0x6c, 0x62, 0x5f, 0x73, 0x79, 0x6e, 0x63, 0x0a, 0xff, 0xfe, 0x0a]).write(to: file)
        let r = try Binary.run(["run", file.path])
        #expect(r.status == 2 && !r.signaled)
        #expect(r.stderr.contains("\(file.path):2"))
        #expect(r.stderr.contains("UTF-8"))
    }

    @Test("an unknown option is a usage error with status 2")
    func unknownOption() throws {
        let r = try Binary.run(["run", "--frobnicate", "x.pgs"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--frobnicate"))
    }

    @Test("--kernel-errors passes a misaligned map to the engine")
    func kernelErrors() throws {
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("k.pgs")
        try "map 0x0 0x80000000 8K 1 rw\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try Binary.run(["run", "--kernel-errors", file.path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("ret=-22 mapped=0x0 | cmo=0 lines=0 tlb_all=0 tlb_walk=0 tlb_page=0 warn=1"))
    }
}
