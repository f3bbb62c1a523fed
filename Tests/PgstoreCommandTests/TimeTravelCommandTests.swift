import Foundation
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
}
