import Foundation
import Testing

/// Issue 10, point 6: a read command leaves the history's directory as it
/// found it (no -wal or -shm beside a file that had none) and the file byte
/// for byte unchanged, as the stock sqlite3 shell does.
@Suite("Read commands leave no trace")
struct ReadCommandsLeaveNoTraceTests {
    @Test("runs, stats, compare, stale, dump, diff, snapshots, report and query")
    func noLitter() throws {
        let dir = try Binary.scratch()
        let history = dir.appendingPathComponent("history")
        try FileManager.default.createDirectory(at: history, withIntermediateDirectories: true)
        let script = dir.appendingPathComponent("w.pgs")
        try "iommu_map 0x0 0x80000000 0x4000 rw\nsnapshot mapped\niommu_unmap 0x1000 0x1000\n"
            .write(to: script, atomically: true, encoding: .utf8)
        let db = history.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, "--strategy", "eager,deferred", script.path]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: history.path) == ["h.pgdb"])
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let report = dir.appendingPathComponent("r.html").path
        let commands: [[String]] = [
            ["runs", "--db", db], ["runs", "--db", db, "--segments"], ["stats", "--db", db, "1"], ["compare", "--db", db],
            ["stale", "--db", db], ["dump", "--db", db, "1:mapped"], ["diff", "--db", db, "1:mapped", "1:latest"],
            ["snapshots", "--db", db], ["report", "--db", db, "--out", report], ["query", "--db", db, "SELECT count(*) FROM writes"],
        ]
        for args in commands {
            let r = try Binary.run(args)
            #expect(r.status == 0 || (args[0] == "stale" && r.status == 1), "\(args): \(r.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: history.path) == ["h.pgdb"], "\(args[0]) left files")
            #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before, "\(args[0]) changed the file")
        }
    }
}
