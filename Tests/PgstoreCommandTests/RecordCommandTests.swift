import Foundation
import GRDB
import Testing

/// `pgstore record`, `runs` and `migrate` through the real binary.
@Suite("pgstore record")
struct RecordCommandTests {
    static func runsJSON(_ db: String) throws -> [[String: Any]] {
        let r = try Binary.run(["runs", "--db", db, "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    }

    static func events(_ db: String) -> Int64 {
        LiveRecordingTests.count(db, "SELECT coalesce(max(events), 0) FROM runs") ?? 0
    }

    @Test("a script under two strategies makes two complete runs")
    func script() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        let r = try Binary.run(["record", "--db", db, "--strategy", "eager,deferred",
                                Binary.sharedConformance.appendingPathComponent("w2_512x4k_eager.txt").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("run 1 eager: complete, 513 calls"))
        #expect(r.stdout.contains("515 lines cleaned"))
        #expect(r.stdout.contains("run 2 deferred: complete"))
        let runs = try Self.runsJSON(db)
        #expect(runs.map { $0["strategy"] as? String } == ["eager", "deferred"])
        #expect(runs.allSatisfy { $0["status"] as? String == "complete" })
    }

    @Test("ftrace logs in both layouts replay as core calls")
    func ftrace() throws {
        let dir = try Binary.scratch()
        let log = dir.appendingPathComponent("trace.txt")
        try """
        # tracer: nop
        #
           (udev-worker)-532     [010] .....     4.878076: map: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 paddr=0x000000010ec80000 size=524288
                  <idle>-0       [005] d.h1.   100.000001: sched_switch: prev_comm=swapper
           kworker/u64:0-12      [011] .....   327.747766: unmap: IOMMU: iova=0x00000000fe980000 - 0x00000000fea00000 size=524288 unmapped_size=524288

        """.write(to: log, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.pgdb").path
        let r = try Binary.run(["record", "--db", db, log.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("2 iommu events"))
        #expect(r.stdout.contains("complete, 3 calls"))
        let q = try DatabaseQueue(path: db)
        let kinds = try q.read { db in try Int.fetchAll(db, sql: "SELECT kind FROM calls WHERE run = 1 AND depth = 0 ORDER BY seq") }
        #expect(kinds == [0, 6, 8])
        let lines = try q.read { db in try Int.fetchAll(db, sql: "SELECT source_line FROM calls WHERE run = 1 AND depth = 0 AND kind > 0 ORDER BY seq") }
        #expect(lines == [3, 5])
    }

    @Test("a trace that maps over a live mapping fails its run with the line, status 2")
    func overlappingTrace() throws {
        let dir = try Binary.scratch()
        let log = dir.appendingPathComponent("trace.txt")
        try """
           fio-2411    [005] .....  1234.568001: map: IOMMU: iova=0x00000000ffc00000 - 0x00000000ffe00000 paddr=0x00000008a3400000 size=2097152
           fio-2411    [005] .....  1234.568002: map: IOMMU: iova=0x00000000ffc00000 - 0x00000000ffe00000 paddr=0x00000008a3400000 size=2097152

        """.write(to: log, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.pgdb").path
        let r = try Binary.run(["record", "--db", db, log.path])
        #expect(r.status == 2 && !r.signaled)
        #expect(r.stderr.contains("\(log.path):2:53: map of 0xffc00000+0x200000 failed in replay with EEXIST"), "\(r.stderr)")
        #expect(r.stderr.contains("EEXIST"))
        #expect(try Self.runsJSON(db).first?["status"] as? String == "failed")
        let lenient = try Binary.run(["record", "--db", db, "--lenient", log.path])
        #expect(lenient.status == 0)
        #expect(lenient.stdout.contains("1 calls skipped"))
    }

    @Test("generators record", arguments: ["sg:pages=300,pa=contiguous", "churn:ops=200,seed=4", "dmabench:loops=50"])
    func generators(_ spec: String) throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        let r = try Binary.run(["record", "--db", db, "--generate", spec])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("complete"))
    }

    @Test("a record killed with SIGKILL leaves a consistent file and an incomplete run")
    func killed() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        let child = try Binary.start(["record", "--db", db, "--batch", "2000", "--generate", "churn:ops=2000000"], in: dir)
        let deadline = Date().addingTimeInterval(60)
        while Self.events(db) < 20_000 && Date() < deadline && child.isRunning { usleep(50_000) }
        #expect(child.isRunning, "the record ended before it could be killed")
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)

        let runs = try Self.runsJSON(db)
        #expect(runs.first?["status"] as? String == "incomplete")
        let q = try DatabaseQueue(path: db)
        let (events, rows, integrity) = try LiveRecordingTests.consistent(db)
        #expect(integrity == "ok")
        #expect(events >= 20_000)
        #expect(rows == events, "every committed batch is there, and nothing else")
        // A writer's next open marks it incomplete for good.
        let again = try Binary.run(["record", "--db", db, "--generate", "sg:pages=8"])
        #expect(again.status == 0)
        let status = try q.read { db in try String.fetchOne(db, sql: "SELECT status FROM runs WHERE id = 1") }
        #expect(status == "incomplete")
    }

    @Test("Ctrl-C stops cleanly and marks the run incomplete")
    func interrupted() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        let child = try Binary.start(["record", "--db", db, "--batch", "2000", "--generate", "churn:ops=2000000"], in: dir)
        let deadline = Date().addingTimeInterval(60)
        while Self.events(db) < 10_000 && Date() < deadline && child.isRunning { usleep(50_000) }
        kill(child.processIdentifier, SIGINT)
        // It must stop within seconds; never let a broken handler hold the suite.
        let stopBy = Date().addingTimeInterval(20)
        while child.isRunning && Date() < stopBy { usleep(50_000) }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        child.waitUntilExit()
        #expect(child.terminationStatus == 130)
        let err = try String(contentsOf: dir.appendingPathComponent("child.err"), encoding: .utf8)
        #expect(err.contains("interrupted by SIGINT (Ctrl-C)") && err.contains("marked incomplete"), "\(err)")
        let runs = try Self.runsJSON(db)
        #expect(runs.first?["status"] as? String == "incomplete")
        #expect((runs.first?["events"] as? Int ?? 0) >= 10_000)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var input: [UInt8]?
        var arguments: [String]
        var expect: String
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "empty input", input: [], arguments: [], expect: "the input is empty"),
        Bad(name: "binary garbage", input: [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff, 0x10, 0x0a], arguments: [], expect: "INPUT:1"),
        Bad(name: "truncated ftrace line", input: Array("   fio-2411    [005] .....  1234.568001: map: IOMMU: iova=0x00000000ffc00000 - 0x0000\n".utf8),
            arguments: ["--from", "ftrace"], expect: "INPUT:1"),
        Bad(name: "size not a multiple of the granule", input: Array("iommu_map 0x0 0x80000000 0x1800 rw\n".utf8), arguments: [],
            expect: "INPUT:1"),
        Bad(name: "both a file and --generate", input: Array("tlb_sync\n".utf8), arguments: ["--generate", "sg:pages=1"],
            expect: "not both"),
        Bad(name: "unknown generator", input: nil, arguments: ["--generate", "zipf:n=3"], expect: "unknown generator"),
        Bad(name: "unknown strategy", input: nil, arguments: ["--generate", "sg:pages=1", "--strategy", "eager,lazy"], expect: "--strategy lazy"),
        Bad(name: "a granule the format cannot have", input: nil, arguments: ["--generate", "sg:pages=1", "--granule", "32k"], expect: "--granule 32k"),
        Bad(name: "a line size that is not a power of two", input: nil, arguments: ["--generate", "sg:pages=1", "--line-size", "48"], expect: "--line-size 48"),
    ]

    @Test("bad input: a clear message, status 2, no database written", arguments: bad)
    func badInput(_ c: Bad) throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        var args = ["record", "--db", db] + c.arguments
        let input = dir.appendingPathComponent("input.txt")
        if let bytes = c.input {
            try Data(bytes).write(to: input)
            args.append(input.path)
        }
        let r = try Binary.run(args)
        #expect(!r.signaled)
        #expect(r.status == 2, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains(c.expect.replacingOccurrences(of: "INPUT", with: input.path)), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db), "no history file for input that never ran")
    }

    @Test("database paths that cannot be used", arguments: ["/nonexistent-dir/h.pgdb", "/sys/kernel/h.pgdb", "/proc/version"])
    func badDatabase(_ path: String) throws {
        let r = try Binary.run(["record", "--db", path, "--generate", "sg:pages=1"])
        #expect(!r.signaled)
        #expect(r.status == 2)
        #expect(r.stderr.contains(path), "\(r.stderr)")
    }

    @Test("migrate creates a file at the current schema version")
    func migrate() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("m.pgdb").path
        let r = try Binary.run(["migrate", db])
        #expect(r.status == 0)
        #expect(r.stdout.contains("schema version 12 (0001_initial, 0002_snapshots, 0003_checkpoints, 0004_views, 0005_segments_and_run_snapshots, 0006_pgsizes, 0007_unfinished_calls_and_trace_gaps, 0008_run_totals, 0009_kernel_runs, 0010_event_rowids, 0011_table_totals, 0012_narrow_writes)"))
    }

    @Test("record --continue appends a segment; a contradicting config line is refused at its place and appends nothing")
    func continuationSegments() throws {
        let dir = try Binary.scratch()
        let first = dir.appendingPathComponent("a.pgs"), wrong = dir.appendingPathComponent("b.pgs"), more = dir.appendingPathComponent("c.pgs")
        try "iommu_map 0x0 0x80000000 0x4000 rw\n".write(to: first, atomically: true, encoding: .utf8)
        try "config granule=16k\niommu_unmap 0x1000 0x1000\n".write(to: wrong, atomically: true, encoding: .utf8)
        try "iommu_unmap 0x1000 0x1000\n".write(to: more, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, first.path]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let refused = try Binary.run(["record", "--db", db, "--continue", "1", wrong.path])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("\(wrong.path):1:8: --continue 1: granule 16K (the run's is 4K)"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
        let cont = try Binary.run(["record", "--db", db, "--continue", "1", more.path])
        #expect(cont.status == 0, "\(cont.stderr)")
        #expect(cont.stdout.contains("8 events (36 in the run)"), "\(cont.stdout)")
        let r = try Binary.run(["runs", "--db", db, "--segments", "--format", "json"])
        let segments = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(segments.map { $0["source"] as? String } == [first.path, more.path])
        #expect(segments.map { $0["start_seq"] as? Int } == [0, 28])
        #expect(segments.map { $0["end_seq"] as? Int } == [28, 36])
        #expect(segments.map { $0["status"] as? String } == ["complete", "complete"])
        #expect(try Self.runsJSON(db).first?["segments"] as? Int == 2)
    }
}
