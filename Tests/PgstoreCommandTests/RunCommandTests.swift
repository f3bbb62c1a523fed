import Foundation
import Testing

/// `pgstore run` through the real binary.
@Suite("pgstore run")
struct RunCommandTests {
    @Test("runs a conformance workload and prints the kernel's descriptor")
    func conformanceWorkload() throws {
        let r = try Binary.run(["run", Binary.sharedConformance.appendingPathComponent("w1_single4k.txt").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("[0] 0x0000000080000e43"))
        #expect(r.stdout.contains("map iova=0x0 paddr=0x80000000 pgsize=0x1000 pgcount=1 prot=rw: ret=0 mapped=0x1000 | cmo=4 lines=4"))
        #expect(r.stdout.contains("STALE_AT_END 0"))
    }

    @Test("exit status 1 when descriptors are stale at the end")
    func staleAtEnd() throws {
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("s.pgs")
        try "map 0x0 0x80000000 4K 1 rw\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try Binary.run(["run", "--strategy", "deferred", file.path])
        #expect(r.status == 1)
        #expect(r.stdout.contains("STALE_AT_END 1"))
        #expect(r.stdout.contains("# stale: device sees 0x0000000000000000"))
    }

    @Test("JSON lists calls with their cleans and the final tables with paths")
    func json() throws {
        let r = try Binary.run(["run", "--format", "json", Binary.sharedConformance.appendingPathComponent("w3_block2m_eager.txt").path])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let calls = try #require(doc["calls"] as? [[String: Any]])
        #expect(calls.count == 3)
        #expect(calls[1]["call"] as? String == "map")
        #expect((calls[1]["cleans"] as? [[String: Any]])?.count == 5)   // two table allocations, three syncs
        let tables = try #require(doc["tables"] as? [[String: Any]])
        #expect(tables.map { $0["name"] as? String } == ["L0", "L0/0/L1", "L0/0/L1/1/L2"])
        #expect(tables[2]["path"] as? [Int] == [0, 1])
        let entries = try #require(tables[2]["entries"] as? [[String: Any]])
        #expect(entries.first?["value"] as? String == "0x0000000100000f45")
        #expect(entries.first?["type"] as? String == "block")
    }

    @Test("iova_to_phys above the IAS: refused by the validator, the kernel's aliased answer with --kernel-errors")
    func iovaAboveIAS() throws {
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("alias.pgs")
        try "config ias=32\nmap 0x15000 0x80000000 4K 1 rw\niova_to_phys 0x1000150c6\n".write(to: file, atomically: true, encoding: .utf8)
        let refused = try Binary.run(["run", file.path])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("\(file.path):3:1: iova_to_phys: IOVA range 0x1000150c6+0x1 goes beyond the 32-bit input address space"))
        #expect(refused.stderr.contains("the kernel answers for the aliased IOVA 0x150c6 (run with --kernel-errors to see it)"))
        let r = try Binary.run(["run", "--kernel-errors", file.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("iova_to_phys iova=0x1000150c6: phys=0x800000c6 | cmo=0 lines=0 tlb_all=0 tlb_walk=0 tlb_page=0 warn=0 stale=0"))
    }

    @Test("pgsizes: the driver's bitmap in CONFIG, the kernel's adjustment after alloc, a 4T block when offered")
    func driverPageSizes() throws {
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("4t.pgs")
        try "config granule=64k ias=52 oas=52 pgsizes=64k|512m|4t\nmap 0x40000000000 0xf000000000000 4T 1 rw\nunmap 0x40000000000 4T 1\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let r = try Binary.run(["run", file.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("CONFIG strategy=eager fmt=ARM_64_LPAE_S1 pgsize_bitmap=0x40020010000 ias=52 oas=52 granule=64K"))
        #expect(r.stdout.contains("alloc_io_pgtable_ops: ok (cfg after alloc: pgsize_bitmap=0x40020010000 ias=52 oas=52) start_level=1"))
        #expect(r.stdout.contains("map iova=0x40000000000 paddr=0xf000000000000 pgsize=0x40000000000 pgcount=1 prot=rw: ret=0 mapped=0x40000000000"))
        #expect(r.stdout.contains("unmap iova=0x40000000000 pgsize=0x40000000000 pgcount=1: unmapped=0x40000000000"))
        // The flag overrides the script; with OAS 48 the kernel drops the 4T it offers.
        let flag = try Binary.run(["run", "--oas", "48", "--ias", "48", "--pgsizes", "64k,512m,4t", "--kernel-errors", file.path])
        #expect(flag.stdout.contains("CONFIG strategy=eager fmt=ARM_64_LPAE_S1 pgsize_bitmap=0x40020010000 ias=48 oas=48"))
        #expect(flag.stdout.contains("cfg after alloc: pgsize_bitmap=0x20010000 ias=48 oas=48"))
        #expect(flag.stdout.contains("pgcount=1 prot=rw: ret=-22 mapped=0x0"))
    }

    @Test("demo compares the strategies")
    func demo() throws {
        let r = try Binary.run(["demo"])
        #expect(r.status == 0)
        let eager = try #require(r.stdout.split(separator: "\n").first { $0.contains(" eager ") })
        let cells = eager.split(separator: " ", omittingEmptySubsequences: true)
        #expect(cells[1] == "eager" && cells[2] == "4106" && cells[3] == "4106")
        #expect(r.stdout.contains("history: "))
        #expect(r.stdout.contains("batched-sg"))
    }

    @Test("demo reuses one directory instead of leaving one per run")
    func demoLeavesOneDirectory() throws {
        let tmp = try Binary.scratch()
        let first = try Binary.run(["demo", "--pages", "64"], environment: ["TMPDIR": tmp.path])
        let second = try Binary.run(["demo", "--pages", "64"], environment: ["TMPDIR": tmp.path])
        #expect(first.status == 0 && second.status == 0, "\(first.stderr)\(second.stderr)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: tmp.path)
        #expect(entries == ["pgstore-demo-\(getuid())"])
        let history = second.stdout.split(separator: "\n").first { $0.hasPrefix("history: ") }
        #expect(history == first.stdout.split(separator: "\n").first { $0.hasPrefix("history: ") })
        let runs = try Binary.run(["runs", "--db", String(history?.dropFirst("history: ".count) ?? ""), "--format", "csv"])
        #expect(runs.stdout.split(separator: "\n").count == 6, "\(runs.stdout)")   // header and one run per strategy
    }
}
