import Foundation
import GRDB
import Testing

/// Long calls and live streams through the real binary: commits inside one
/// long call, signals that stop within a second, SIGKILL, standard input,
/// --follow, and lost-events markers.
@Suite("live recording")
struct LiveRecordingTests {
    /// A reader's count, or nil while the file cannot be read yet.
    static func count(_ db: String, _ sql: String) -> Int64? {
        guard FileManager.default.fileExists(atPath: db),
              let q = try? DatabaseQueue(path: db, configuration: { var c = Configuration(); c.readonly = true; return c }()) else { return nil }
        defer { try? q.close() }
        return try? q.read { db in try Int64.fetchOne(db, sql: sql) }
    }

    /// Waits until `condition` holds (or `seconds` pass); whether it held.
    static func wait(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// Seconds from now until the process exits (killed with SIGKILL after 20 s, so a broken handler cannot hold the suite).
    static func secondsToExit(_ child: Process) -> Double {
        let start = Date()
        while child.isRunning && Date().timeIntervalSince(start) < 20 { usleep(5_000) }
        let took = Date().timeIntervalSince(start)
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        child.waitUntilExit()
        return took
    }

    /// Every committed event is there once: event rows, two per returned call, one per unfinished call.
    static func consistent(_ db: String) throws -> (events: Int64, rows: Int64, integrity: String?) {
        let q = try DatabaseQueue(path: db)
        defer { try? q.close() }
        return try q.read { db in
            let events = try Int64.fetchOne(db, sql: "SELECT events FROM runs WHERE id = 1")!
            var rows = 2 * (try Int64.fetchOne(db, sql: "SELECT count(*) FROM calls WHERE run = 1")!)
            rows += try Int64.fetchOne(db, sql: "SELECT count(*) FROM unfinished_calls WHERE run = 1")!
            for t in ["writes", "cleans", "tlb_ops", "table_allocs", "table_frees", "accesses", "warnings"] {
                rows += try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(t) WHERE run = 1")!
            }
            return (events, rows, try String.fetchOne(db, sql: "PRAGMA integrity_check"))
        }
    }

    @Test("one long map_sg: a reader sees writes while it runs; a signal stops it within a second", arguments: [
        (SIGINT, Int32(130), "interrupted by SIGINT (Ctrl-C)"), (SIGTERM, Int32(143), "stopped by SIGTERM"),
    ])
    func longCall(_ signal: Int32, _ status: Int32, _ reason: String) throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("big.pgdb").path
        let child = try Binary.start(["record", "--db", db, "--strategy", "eager", "--generate", "sg:pages=2000000"], in: dir)
        // Committed writes of the one call, long before it could end (8M events).
        let seen = Self.wait(60) { (Self.count(db, "SELECT count(*) FROM writes") ?? 0) >= 20_000 }
        #expect(seen, "no committed writes while the call ran")
        let sawWrites = Self.count(db, "SELECT count(*) FROM writes") ?? 0
        #expect(Self.count(db, "SELECT count(*) FROM calls WHERE kind = 7") == 0, "the map_sg has not returned")
        #expect(child.isRunning)
        kill(child.processIdentifier, signal)
        let took = Self.secondsToExit(child)
        #expect(took < 1.0, "stopping took \(took) s")
        #expect(child.terminationStatus == status)
        let err = try String(contentsOf: dir.appendingPathComponent("child.err"), encoding: .utf8)
        #expect(err.contains(reason) && err.contains("inside call") && err.contains("marked incomplete"), "\(err)")

        let (events, rows, integrity) = try Self.consistent(db)
        #expect(integrity == "ok")
        #expect(rows == events, "every committed event, once")
        #expect((Self.count(db, "SELECT count(*) FROM writes") ?? 0) >= sawWrites, "what a reader saw is still there")
        #expect(Self.count(db, "SELECT count(*) FROM unfinished_calls WHERE kind = 7") == 1, "the map_sg is unfinished")
        let runs = try Binary.run(["runs", "--db", db, "--format", "json"])
        let run = try #require((try JSONSerialization.jsonObject(with: Data(runs.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(run["status"] as? String == "incomplete")
        #expect((run["message"] as? String)?.hasPrefix(reason) == true)
        // The last committed point, inside the call, reconstructs.
        let dump = try Binary.run(["dump", "--db", db, "1:latest"])
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(dump.stdout.contains("at seq \(events)"))
        let stale = try Binary.run(["stale", "--db", db, "1:latest"])
        #expect(stale.status == 0 || stale.status == 1, "\(stale.stderr)")
    }

    @Test("SIGKILL inside the call keeps every committed batch, and the last point dumps")
    func killed() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("k.pgdb").path
        let child = try Binary.start(["record", "--db", db, "--batch", "20000", "--generate", "sg:pages=2000000"], in: dir)
        #expect(Self.wait(60) { (Self.count(db, "SELECT count(*) FROM writes") ?? 0) >= 40_000 })
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let (events, rows, integrity) = try Self.consistent(db)
        #expect(integrity == "ok")
        #expect(events > 0 && rows == events)
        let segments = try Binary.run(["runs", "--db", db, "--segments", "--format", "json"])
        #expect(segments.stdout.contains("\"status\" : \"incomplete\""), "\(segments.stdout)")
        let dump = try Binary.run(["dump", "--db", db, "1:latest"])
        #expect(dump.status == 0 && dump.stdout.contains("at seq \(events)"), "\(dump.stderr)")
        // Continuing is refused with the way forward: the point before the cut call.
        let cont = try Binary.run(["record", "--db", db, "--continue", "1", "--generate", "sg:pages=1"])
        #expect(cont.status == 2 && cont.stderr.contains("inside call") && cont.stderr.contains("restore --db"), "\(cont.stderr)")
    }

    @Test("standard input: a slow writer's first calls are visible while it still writes")
    func pipe() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("p.pgdb").path
        let input = Pipe()
        let child = try Binary.start(["record", "--db", db, "-"], in: dir, stdin: input)
        let first = "config granule=4k\niommu_map 0x0 0x80000000 0x1000 rw\n"
        input.fileHandleForWriting.write(Data(first.utf8))
        let visible = Self.wait(10) { Self.count(db, "SELECT count(*) FROM calls WHERE kind = 6") == 1 }
        #expect(visible, "the first call was not committed while the writer waited")
        #expect(child.isRunning)
        let rest = "iommu_map 0x1000 0x80001000 0x1000 rw\nsnapshot two\n"
        input.fileHandleForWriting.write(Data(rest.utf8))
        try input.fileHandleForWriting.close()
        _ = Self.secondsToExit(child)
        #expect(child.terminationStatus == 0)
        #expect(Self.count(db, "SELECT count(*) FROM calls WHERE kind = 6") == 2)
        #expect(Self.count(db, "SELECT count(*) FROM snapshots WHERE name = 'two'") == 1)
        let runs = try RecordCommandTests.runsJSON(db)
        #expect(runs.first?["status"] as? String == "complete")
        #expect(runs.first?["source"] as? String == "-")
        // The source hash is the hash of every byte read.
        let q = try DatabaseQueue(path: db)
        defer { try? q.close() }
        let hash = try q.read { db in try String.fetchOne(db, sql: "SELECT source_sha256 FROM runs WHERE id = 1") }
        #expect(hash == Self.sha256(first + rest))
    }

    @Test("--follow: lines appended after start are recorded, a lost-events marker with them; Ctrl-C ends the run complete")
    func follow() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("f.pgdb").path
        let trace = dir.appendingPathComponent("trace.txt")
        try "# tracer: nop\n#\n".write(to: trace, atomically: true, encoding: .utf8)
        let child = try Binary.start(["record", "--db", db, "--strategy", "deferred", "--follow", trace.path], in: dir)
        usleep(300_000)
        let lines = """
                    fio-2411    [005] .....  1234.567001: map: IOMMU: iova=0x00000000ffc00000 - 0x00000000ffc01000 paddr=0x0000000081234000 size=4096
                  <idle>-0       [002] d.h1.  1234.600000: irq_handler_entry: irq=30 name=arch_timer
        CPU:5 [LOST 1234 EVENTS]
                    fio-2411    [005] .....  1234.568001: unmap: IOMMU: iova=0x00000000ffc00000 - 0x00000000ffc01000 size=4096 unmapped_size=4096

        """
        let handle = try FileHandle(forWritingTo: trace)
        handle.seekToEndOfFile()
        handle.write(Data(lines.utf8))
        try handle.close()
        let recorded = Self.wait(10) { Self.count(db, "SELECT count(*) FROM calls WHERE depth = 0 AND kind IN (6, 8)") == 2 }
        #expect(recorded, "appended lines were not recorded within a second or so")
        #expect(child.isRunning, "follow mode does not end at the end of the file")
        kill(child.processIdentifier, SIGINT)
        let took = Self.secondsToExit(child)
        #expect(took < 1.0)
        #expect(child.terminationStatus == 0)
        let runs = try RecordCommandTests.runsJSON(db)
        #expect(runs.first?["status"] as? String == "complete")
        #expect(Self.count(db, "SELECT count(*) FROM trace_gaps WHERE cpu = 5 AND lost = 1234 AND source_line = 5") == 1)
        let err = try String(contentsOf: dir.appendingPathComponent("child.err"), encoding: .utf8)
        #expect(err.contains("2 iommu events in 6 lines") && err.contains("1 lost-events marker"), "\(err)")
        let stale = try Binary.run(["stale", "--db", db])
        #expect(stale.stdout.contains("run 1: its trace lost events once (first at input line 5"), "\(stale.stdout)")
    }

    @Test("a trace file with lost-events markers records each where it was read")
    func gapsInFile() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("g.pgdb").path
        let trace = dir.appendingPathComponent("trace.txt")
        try """
        cpus=8
                    fio-2411 [005]  1234.567001: map:                  IOMMU: iova=0x00000000ffc00000 - 0x00000000ffc01000 paddr=0x0000000081234000 size=4096
        CPU:3 [12 EVENTS DROPPED]
                    fio-2411 [005]  1234.568001: map:                  IOMMU: iova=0x00000000ffc01000 - 0x00000000ffc02000 paddr=0x0000000081235000 size=4096

        """.write(to: trace, atomically: true, encoding: .utf8)
        let r = try Binary.run(["record", "--db", db, trace.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("1 lost-events marker (first at line 3: CPU:3 [12 EVENTS DROPPED])"), "\(r.stderr)")
        let q = try DatabaseQueue(path: db)
        defer { try? q.close() }
        let (gapSeq, firstMapEnd, secondMapBegin) = try q.read { db in
            (try Int64.fetchOne(db, sql: "SELECT seq FROM trace_gaps WHERE lost = 12 AND cpu = 3")!,
             try Int64.fetchOne(db, sql: "SELECT min(end_seq) FROM calls WHERE kind = 6")!,
             try Int64.fetchOne(db, sql: "SELECT max(seq) FROM calls WHERE kind = 6")!)
        }
        #expect(gapSeq == firstMapEnd && gapSeq < secondMapBegin, "the marker sits between the two maps")
    }

    @Test("streams: refusals before anything is recorded, and a bad line fails the run at its place")
    func streamErrors() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("e.pgdb").path
        let two = Pipe()
        let refused = try Binary.start(["record", "--db", db, "--strategy", "eager,deferred", "-"], in: dir, stdin: two)
        two.fileHandleForWriting.write(Data("iommu_map 0x0 0x80000000 0x1000 rw\n".utf8))
        try two.fileHandleForWriting.close()
        _ = Self.secondsToExit(refused)
        #expect(refused.terminationStatus == 2)
        #expect(try String(contentsOf: dir.appendingPathComponent("child.err"), encoding: .utf8).contains("recorded under one strategy"))
        #expect(!FileManager.default.fileExists(atPath: db))

        let bad = Pipe()
        let child = try Binary.start(["record", "--db", db, "-"], in: dir, stdin: bad)
        bad.fileHandleForWriting.write(Data("iommu_map 0x0 0x80000000 0x1000 rw\niommu_map 0x1000 0x80000000 0x1800 rw\n".utf8))
        try bad.fileHandleForWriting.close()
        _ = Self.secondsToExit(child)
        #expect(child.terminationStatus == 2)
        let runs = try RecordCommandTests.runsJSON(db)
        #expect(runs.first?["status"] as? String == "failed")
        #expect((runs.first?["message"] as? String)?.hasPrefix("-:2:") == true, "\(runs.first?["message"] ?? "")")
        #expect(Self.count(db, "SELECT count(*) FROM calls WHERE kind = 6") == 1, "the good line before it is kept")
    }

    @Test("progress: a percentage and an ETA that move inside one long call on a terminal; nothing on a file")
    func progressOnTerminal() throws {
        let dir = try Binary.scratch()
        // util-linux's script(1) gives the child a terminal (Debian's bsdutils, always installed).
        let tool = URL(fileURLWithPath: "/usr/bin/script")
        try #require(FileManager.default.isExecutableFile(atPath: tool.path), "script(1) is needed to test a terminal")
        let db = dir.appendingPathComponent("t.pgdb").path
        let p = Process()
        p.executableURL = tool
        p.arguments = ["-qfec", "\(Binary.url.path) record --db \(db) --strategy eager --generate sg:pages=300000", "/dev/null"]
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let updates = String(decoding: data, as: UTF8.self).components(separatedBy: "\r").filter { $0.contains("%, ETA") }
        let shares = updates.compactMap { line -> Double? in
            guard let colon = line.range(of: "eager: ") else { return nil }
            return Double(line[colon.upperBound...].prefix { $0 != "%" })
        }
        #expect(shares.count >= 2, "\(updates.prefix(3))")
        #expect(Set(shares).count >= 2, "the percentage moves inside the one call: \(shares)")
        #expect(updates.allSatisfy { $0.contains("events/s") })

        let plain = try Binary.run(["record", "--db", dir.appendingPathComponent("p.pgdb").path, "--generate", "sg:pages=300000"])
        #expect(plain.status == 0)
        #expect(!plain.stderr.contains("\u{1B}[K") && !plain.stderr.contains("ETA"), "no progress on a non-terminal: \(plain.stderr)")
    }

    static func sha256(_ text: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sha256sum"]
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        try? p.run()
        inPipe.fileHandleForWriting.write(Data(text.utf8))
        try? inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(String(decoding: out, as: UTF8.self).prefix(64))
    }
}
