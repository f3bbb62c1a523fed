import Foundation
import GRDB
import Testing

/// `snapshot`, `snapshots`, `dump`, `diff`, `restore` through the real binary.
@Suite("pgstore time travel commands")
struct TimeTravelCommandTests {
    static func history() throws -> (dir: URL, db: String) {
        let dir = try Binary.scratch()
        let script = dir.appendingPathComponent("w.pgs")
        try """
        iommu_map 0x0 0x80000000 0x4000 rw
        snapshot before
        iommu_unmap 0x1000 0x1000
        map 0x200000 0x100200000 2M 1 rwc
        snapshot after

        """.write(to: script, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.pgdb").path
        let r = try Binary.run(["record", "--db", db, script.path])
        #expect(r.status == 0, "\(r.stderr)")
        let other = dir.appendingPathComponent("g.pgs")
        try "config granule=16k\niommu_map 0x0 0x80000000 0x4000 rw\nsnapshot sixteen\n".write(to: other, atomically: true, encoding: .utf8)
        #expect(try Binary.run(["record", "--db", db, other.path]).status == 0)
        return (dir, db)
    }

    @Test("a round trip through the commands")
    func roundTrip() throws {
        let (dir, db) = try Self.history()
        let snaps = try Binary.run(["snapshots", "--db", db])
        #expect(snaps.stdout.contains("before") && snaps.stdout.contains("after") && snaps.stdout.contains("sixteen"))

        let diff = try Binary.run(["diff", "--db", db, "before", "after"])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stdout.contains("L0/0/L1/0/L2/0/L3 [1] L3 0x0000000000001000-0x0000000000001fff: 0x0000000080001e43"))
        #expect(diff.stdout.contains("2 descriptors changed"))
        let mapping = try Binary.run(["diff", "--db", db, "before", "after", "--level", "mapping", "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(mapping.stdout.utf8)) as? [String: Any])
        let changes = try #require(doc["mappings"] as? [[String: Any]])
        #expect(changes.map { $0["change"] as? String } == ["unmapped", "mapped"])
        #expect(changes[1]["newPA"] as? String == "0x100200000")

        let dump = try Binary.run(["dump", "--db", db, "before"])
        #expect(dump.stdout.contains("[1] 0x0000000080001e43 0x0000000000001000-0x0000000000001fff 4K PAGE -> 0x80001000"))
        let dumpJSON = try Binary.run(["dump", "--db", db, "after", "--format", "json", "--view", "memory"])
        #expect(dumpJSON.status == 0)
        #expect(dumpJSON.stdout.contains("\"name\" : \"L0/0/L1/0/L2\""))

        let target = dir.appendingPathComponent("r.pgdb").path
        let restore = try Binary.run(["restore", "--db", db, "before", "--into", target, "--strategy", "deferred"])
        #expect(restore.status == 0, "\(restore.stderr)")
        let cont = dir.appendingPathComponent("c.pgs")
        try "iommu_unmap 0x1000 0x1000\nsnapshot later\n".write(to: cont, atomically: true, encoding: .utf8)
        #expect(try Binary.run(["record", "--db", target, "--continue", "1", cont.path]).status == 0)
        let d2 = try Binary.run(["diff", "--db", target, "1:0", "later"])
        #expect(d2.stdout.contains("1 descriptors changed"))

        let named = try Binary.run(["snapshot", "--db", db, "mine", "--at", "1:3"])
        #expect(named.status == 0)
        // Names are per run: run 1 already has "mine", run 2 may take it too.
        let clash = try Binary.run(["snapshot", "--db", db, "mine", "--at", "1:5"])
        #expect(clash.status == 2 && clash.stderr.contains("run 1 already has a snapshot named \"mine\""), "\(clash.stderr)")
        let otherRun = try Binary.run(["snapshot", "--db", db, "mine", "--at", "2:latest"])
        #expect(otherRun.status == 0, "\(otherRun.stderr)")
        let second = try Binary.run(["dump", "--db", db, "mine"])
        #expect(second.status == 0 && second.stdout.contains("run 2"), "\(second.stdout)")
        let first = try Binary.run(["dump", "--db", db, "1:mine"])
        #expect(first.status == 0 && first.stdout.contains("run 1"), "\(first.stdout)")
    }

    @Test("bad points and requests: a clear message, status 2", arguments: [
        (["diff", "--db", "DB", "before", "nowhere"], "no snapshot named \"nowhere\""),
        (["diff", "--db", "DB", "before", "sixteen"], "different table configurations"),
        (["dump", "--db", "DB", "1:99999"], "beyond the end of run 1"),
        (["dump", "--db", "DB", "9:1"], "has no run 9"),
        (["restore", "--db", "DB", "before", "--into", "NOTPG"], "not a pgstore database"),
        (["restore", "--db", "DB", "1:5", "--into", "DIR/x.pgdb"], "inside call"),
        (["record", "--db", "DB", "--continue", "1", "--strategy", "eager", "--generate", "sg:pages=1"], "keeps the run's strategy"),
    ])
    func refusals(_ args: [String], _ message: String) throws {
        let (dir, db) = try Self.history()
        let notPG = dir.appendingPathComponent("notes.txt")
        try "just text\n".write(to: notPG, atomically: true, encoding: .utf8)
        let before = try Data(contentsOf: notPG)
        let r = try Binary.run(args.map {
            $0.replacingOccurrences(of: "DB", with: db).replacingOccurrences(of: "NOTPG", with: notPG.path)
                .replacingOccurrences(of: "DIR", with: dir.path)
        })
        #expect(!r.signaled)
        #expect(r.status == 2, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(try Data(contentsOf: notPG) == before)
    }

    @Test("dump --help names the point forms and its default once")
    func dumpHelp() throws {
        let r = try Binary.run(["dump", "--help"])
        #expect(r.status == 0)
        let text = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("RUN:SEQ, RUN:latest, RUN:NAME, NAME or latest. (default: latest)"), "\(r.stdout)")
        #expect(text.components(separatedBy: "(default: latest)").count == 2, "\(r.stdout)")
    }

    @Test("restore --help lists the strategies it takes")
    func restoreHelp() throws {
        let r = try Binary.run(["restore", "--help"])
        let text = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(r.status == 0)
        #expect(text.contains("eager, deferred"), "\(r.stdout)")
    }

    @Test("diff shows table descriptors as written; across runs it labels the path-normalised form it compares")
    func tableDescriptorsAsWritten() throws {
        let dir = try Binary.scratch()
        let a = dir.appendingPathComponent("a.pgs"), b = dir.appendingPathComponent("b.pgs")
        try "iommu_map 0x0 0x80000000 0x1000 rw\nsnapshot one\niommu_map 0x40000000 0x90000000 0x1000 rw\nsnapshot two\n"
            .write(to: a, atomically: true, encoding: .utf8)
        try "iommu_map 0x40000000 0x90000000 0x1000 rw\nsnapshot two\n".write(to: b, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, a.path]).status == 0)
        #expect(try Binary.run(["record", "--db", db, b.path]).status == 0)
        // The L1 entry run 1 wrote for its second L2 table, as the history holds it.
        let written = try Binary.run(["query", "--db", db, "--format", "csv",
                                      "SELECT printf('0x%016x', new) FROM writes WHERE run = 1 AND level = 1 AND idx = 1 ORDER BY seq DESC LIMIT 1"])
        #expect(written.stdout.contains("0x0080000040004003"), "\(written.stdout)")

        let same = try Binary.run(["diff", "--db", db, "1:one", "1:two"])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.contains("L0/0/L1 [1] L1 0x0000000040000000-0x000000007fffffff: 0 (invalid) -> "
                                     + "0x0080000040004003 (table 0x40004000 -> L0/0/L1/1/L2)\n"), "\(same.stdout)")
        #expect(!same.stdout.contains("normalised"))
        #expect(!same.stdout.contains("0x0080000000000003"))

        // Run 2 put the same table at another page: compared by path, the entry is unchanged,
        // and the entries that differ show what each run wrote, the normalised form labelled.
        let across = try Binary.run(["diff", "--db", db, "1:two", "2:two"])
        #expect(across.status == 0, "\(across.stderr)")
        #expect(across.stdout.contains("compared by the child's path"))
        #expect(!across.stdout.contains("L0/0/L1 [1]"))
        #expect(across.stdout.contains("L0/0/L1 [0] L1 0x0000000000000000-0x000000003fffffff: 0x0080000040002003 "
                                       + "(table 0x40002000 -> L0/0/L1/0/L2, normalised 0x0080000000000003) -> 0 (invalid)"), "\(across.stdout)")
        #expect(across.stdout.contains("3 descriptors changed"))
        let json = try Binary.run(["diff", "--db", db, "1:two", "2:two", "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(doc["comparison"] as? String == "child path")
        let first = try #require((doc["descriptors"] as? [[String: Any]])?.first)
        #expect(first["old"] as? String == "0x0080000040002003")
        #expect(first["oldNormalised"] as? String == "0x0080000000000003")
        #expect(first["oldChild"] as? String == "L0/0/L1/0/L2")
        let sameJSON = try Binary.run(["diff", "--db", db, "1:one", "1:two", "--format", "json"])
        let sameDoc = try #require(try JSONSerialization.jsonObject(with: Data(sameJSON.stdout.utf8)) as? [String: Any])
        #expect(sameDoc["comparison"] as? String == "written")
        #expect((sameDoc["descriptors"] as? [[String: Any]])?.first?["new"] as? String == "0x0080000040004003")
        #expect((sameDoc["descriptors"] as? [[String: Any]])?.first?["newNormalised"] == nil)
    }

    @Test("a damaged checkpoint is an error naming the file, the run and the seq, for dump and diff, with no trap")
    func damagedCheckpoint() throws {
        let dir = try Binary.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, "--generate", "churn:ops=3000"]).status == 0)
        // The first checkpoint (a whole state, at seq 50,006): a varint that never ends, then cut short.
        let queue = try DatabaseQueue(path: db)
        let original = try queue.read { db in try Data.fetchOne(db, sql: "SELECT state FROM checkpoints ORDER BY seq LIMIT 1") }
        try queue.write { db in
            try db.execute(sql: """
                UPDATE checkpoints SET state = substr(state, 1, 20) || X'FFFFFFFFFFFFFFFFFFFFFF' || substr(state, 32)
                WHERE seq = (SELECT min(seq) FROM checkpoints)
                """)
        }
        for args in [["dump", "--db", db, "1:60000"], ["dump", "--db", db, "1:120000", "--format", "json"], ["diff", "--db", db, "1:60000", "1:61000"]] {
            let r = try Binary.run(args)
            #expect(r.status != 0 && !r.signaled, "\(args)")
            #expect(r.stderr.contains("\(db): run 1 has a damaged checkpoint before seq") && r.stderr.contains("bad varint"), "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args)")
        }
        // A point before it still replays from the run's start.
        #expect(try Binary.run(["dump", "--db", db, "1:40000"]).status == 0)

        // A blob that decodes but is not its row's state: the whole state's
        // seq (the varint after the magic, the format byte and the table
        // memory's 4-byte offset, 3 bytes for 50,006) as 2^63, which trapped
        // where a reconstruction used it; the offset moved on by the 7 bytes
        // the varint grew.
        var forged = [UInt8](try #require(original))
        #expect(forged[4] == 5, "a whole state of format 5")
        let offset = (0..<4).reduce(0) { $0 | Int(forged[5 + $1]) << (8 * $1) } + 7
        forged.replaceSubrange(9..<12, with: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        for i in 0..<4 { forged[5 + i] = UInt8(truncatingIfNeeded: offset >> (8 * i)) }
        try queue.write { db in
            try db.execute(sql: "UPDATE checkpoints SET state = ? WHERE seq = (SELECT min(seq) FROM checkpoints)", arguments: [Data(forged)])
        }
        for args in [["dump", "--db", db, "1:60000"], ["diff", "--db", db, "1:60000", "1:61000"]] {
            let r = try Binary.run(args)
            #expect(r.status != 0 && !r.signaled, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("\(db): run 1 has a damaged checkpoint before seq")
                    && r.stderr.contains("the checkpoint at seq 50006 holds the state of seq 9223372036854775808"), "\(args): \(r.stderr)")
        }

        // A table-memory offset past the blob's end: whole, windowed and
        // diff reads all say so (the windowed one reads what precedes table
        // memory first, then finds the offset wrong).
        var moved = [UInt8](try #require(original))
        for i in 0..<4 { moved[5 + i] = 0xff }
        try queue.write { db in
            try db.execute(sql: "UPDATE checkpoints SET state = ? WHERE seq = (SELECT min(seq) FROM checkpoints)", arguments: [Data(moved)])
        }
        try queue.close()
        for args in [["dump", "--db", db, "1:60000"], ["dump", "--db", db, "1:60000", "--iova", "0+2M"], ["diff", "--db", db, "1:60000", "1:61000"]] {
            let r = try Binary.run(args)
            #expect(r.status != 0 && !r.signaled, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("\(db): run 1 has a damaged checkpoint before seq") && r.stderr.contains("bad table memory offset"),
                    "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args)")
        }
    }
}
