import Foundation
import Testing

/// `dump --iova RANGE` through the real binary: the tables over the range
/// and only their entries that meet it, the whole state's counts kept.
@Suite("pgstore dump --iova")
struct DumpWindowCommandTests {
    @Test("a window shows the walk down to it and the entries that meet it")
    func window() throws {
        let (_, db) = try TimeTravelCommandTests.history()
        let r = try Binary.run(["dump", "--db", db, "after", "--iova", "0x2000-0x2fff"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == """
            run 1 (eager, S1 4K 48/48 non-coherent 64B) at seq 40; cpu view; IOVA 0x0000000000002000-0x0000000000002fff: 4 of 4 tables, 2 dirty lines, 0 stale entries
            L0 T#0 @0x40000000 level 0 0x0000000000000000-0x0000ffffffffffff
              [0] 0x0080000040001003 TABLE -> L0/0/L1 SYNCED  dirty
              L0/0/L1 T#1 @0x40001000 level 1 0x0000000000000000-0x0000007fffffffff
                [0] 0x0080000040002003 TABLE -> L0/0/L1/0/L2 SYNCED  dirty
                L0/0/L1/0/L2 T#2 @0x40002000 level 2 0x0000000000000000-0x000000003fffffff
                  [0] 0x0080000040003003 TABLE -> L0/0/L1/0/L2/0/L3 SYNCED
                  L0/0/L1/0/L2/0/L3 T#3 @0x40003000 level 3 0x0000000000000000-0x00000000001fffff
                    [2] 0x0000000080002e43 0x0000000000002000-0x0000000000002fff 4K PAGE -> 0x80002000 RW USR OSH AF NG MEM/NORMAL-NC

            """)
        // The 2M block alone: the L3 table under L2 entry 0 is not walked.
        let block = try Binary.run(["dump", "--db", db, "after", "--iova", "0x200000+2M"])
        let lines = block.stdout.split(separator: "\n")
        #expect(lines.first?.hasSuffix("IOVA 0x0000000000200000-0x00000000003fffff: 3 of 4 tables, 2 dirty lines, 0 stale entries") == true, "\(block.stdout)")
        #expect(lines.last == "      [1] 0x0000000100200f45 0x0000000000200000-0x00000000003fffff 2M BLK -> 0x100200000 RW USR SHD AF NG MEM/NORMAL")
        #expect(!block.stdout.contains("L3"))
        // One address inside a page; and the whole space is the whole dump.
        let one = try Binary.run(["dump", "--db", db, "after", "--iova", "12345"])
        #expect(one.stdout.hasSuffix("[3] 0x0000000080003e43 0x0000000000003000-0x0000000000003fff 4K PAGE -> 0x80003000 RW USR OSH AF NG MEM/NORMAL-NC\n"), "\(one.stdout)")
        let whole = try Binary.run(["dump", "--db", db, "after"])
        let all = try Binary.run(["dump", "--db", db, "after", "--iova", "0-0xffffffffffffffff"])
        #expect(all.stdout.split(separator: "\n").dropFirst() == whole.stdout.split(separator: "\n").dropFirst())
        // Past the root's range: nothing to show, said so.
        let beyond = try Binary.run(["dump", "--db", db, "after", "--iova", "0x1000000000000+4K"])
        #expect(beyond.status == 0)
        #expect(beyond.stdout.hasSuffix(": 0 of 4 tables, 2 dirty lines, 0 stale entries\n(no tables over the range)\n"), "\(beyond.stdout)")
    }

    @Test("JSON names the range and holds the same tables and entries")
    func json() throws {
        let (_, db) = try TimeTravelCommandTests.history()
        let r = try Binary.run(["dump", "--db", db, "after", "--format", "json", "--iova", "0x200000+2M"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(doc["iova"] as? String == "0x0000000000200000-0x00000000003fffff")
        let tables = try #require(doc["tables"] as? [[String: Any]])
        #expect(tables.map { $0["name"] as? String } == ["L0", "L0/0/L1", "L0/0/L1/0/L2"])
        let entries = try #require(tables.last?["entries"] as? [[String: Any]])
        #expect(entries.map { $0["index"] as? Int } == [1])
        #expect(entries.first?["type"] as? String == "block")
        let whole = try Binary.run(["dump", "--db", db, "after", "--format", "json"])
        let wholeDoc = try #require(try JSONSerialization.jsonObject(with: Data(whole.stdout.utf8)) as? [String: Any])
        #expect(wholeDoc["iova"] == nil)
    }

    @Test("a bad range says what is wrong with it, status 2", arguments: [
        ("0x10-0x5", "the end 0x5 is below the start 0x10"),
        ("zz", "address 'zz' is not a number"),
        ("0x1000+0", "the size is 0"),
        ("0xffffffffffffffff+2", "the range runs past 2^64"),
        ("1+x", "size 'x' is not a number"),
        ("-0x10", "start '' is not a number"),
    ])
    func badRange(_ range: String, _ message: String) throws {
        let (_, db) = try TimeTravelCommandTests.history()
        let r = try Binary.run(["dump", "--db", db, "after", "--iova=\(range)"])
        #expect(!r.signaled)
        #expect(r.status == 2, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }
}
