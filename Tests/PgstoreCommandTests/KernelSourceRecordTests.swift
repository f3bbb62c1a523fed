import Foundation
import Testing

/// `pgstore record --kernel-source DIR` through the real binary: the tree's
/// own io-pgtable-arm.c recorded into the same history as the engine's runs,
/// read back by every command, and each refusal an error with nothing written.
@Suite("pgstore record --kernel-source", .serialized)
struct KernelSourceRecordTests {
    static var tree612: String? { KernelSourceRunTests.tree612 }
    static var enabled: Bool { KernelSourceRunTests.enabled }
    static let missing = KernelSourceRunTests.missing
    static let cache = KernelSourceRunTests.cache

    /// The `run` test's calls, without its dump: clear of where 6.12 and mainline differ.
    static let script = """
        config stage=1 granule=4k ias=48 oas=48
        iommu_map 0x1ff000 0x8001ff000 0x202000 rw
        snapshot mapped
        map_sg 0x5fe000 r 0x900000000+0x1000 0x900001000+0x2000 0x910000000+0x1000
        iommu_map 0x1fe000 0x700000000 0x3000 r
        iova_to_phys 0x200123
        access 0x200123 r
        iommu_unmap 0x1ff000 0x202000
        map 0x0 0x80000000 4K 1 rw
        unmap 0x0 4K 1
        tlb_sync
        iommu_unmap 0x5fe000 0x4000
        """

    static func query(_ db: String, _ sql: String) throws -> String {
        let r = try Binary.run(["query", "--db", db, "--format", "csv", sql])
        #expect(r.status == 0, "\(sql): \(r.stderr)")
        return r.stdout
    }

    @Test("the kernel's run has the engine's events, names its kernel, and every reader works on it",
          .enabled(if: enabled, missing))
    func recordedLikeTheEngine() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("core.pgs"), db = dir.appendingPathComponent("h.pgdb").path
        try Self.script.write(to: file, atomically: true, encoding: .utf8)
        let engine = try Binary.run(["record", "--db", db, file.path])
        #expect(engine.status == 0, "\(engine.stderr)")
        let kernel = try Binary.run(["record", "--db", db, "--kernel-source", tree, file.path], environment: Self.cache)
        #expect(kernel.status == 0, "\(kernel.stderr)")
        #expect(kernel.stdout.contains("run 2 kernel 6.12.118: complete, 11 calls"))

        #expect(try Self.query(db, "SELECT id, strategy, backend, kernel_version, defer_sync_pte, length(kernel_sha256) AS h, status FROM runs ORDER BY id")
                == "id,strategy,backend,kernel_version,defer_sync_pte,h,status\n1,eager,engine,,,,complete\n2,kernel 6.12.118,kernel,6.12.118,0,64,complete\n")
        #expect(try Self.query(db, "SELECT kernel_source = '\(URL(fileURLWithPath: tree).standardizedFileURL.path)' AS same FROM runs WHERE id = 2") == "same\n1\n")
        // Event for event the same history: every table's rows, in order.
        #expect(try Self.query(db, "SELECT (SELECT events FROM runs WHERE id = 1) = (SELECT events FROM runs WHERE id = 2) AS same") == "same\n1\n")
        for (table, columns) in [("writes", "seq, call, tbl, idx, level, iova, old, new"), ("cleans", "seq, call, tbl, first_line, lines, reason"),
                                 ("tlb_ops", "seq, call, op, iova, size, granule"), ("calls", "seq, end_seq, kind, iova, size, ret, value")] {
            let differing = try Self.query(db, """
                SELECT count(*) AS n FROM (SELECT \(columns) FROM \(table) WHERE run = 1 EXCEPT SELECT \(columns) FROM \(table) WHERE run = 2)
                """)
            #expect(differing == "n\n0\n", "\(table)")
            #expect(try Self.query(db, "SELECT count(*) > 0 AS n FROM \(table) WHERE run = 2") == "n\n1\n", "\(table)")
        }

        // Readers: a snapshot, a dump, stale, diff against the engine, compare.
        let d1 = try Binary.run(["dump", "--db", db, "1:mapped"]), d2 = try Binary.run(["dump", "--db", db, "2:mapped"])
        #expect(d1.status == 0 && d2.status == 0, "\(d2.stderr)")
        #expect(d2.stdout.hasPrefix("run 2 (kernel 6.12.118, "))
        #expect(d1.stdout.split(separator: "\n").dropFirst() == d2.stdout.split(separator: "\n").dropFirst())
        let stale = try Binary.run(["stale", "--db", db, "2"])
        #expect(stale.status == 0, "\(stale.stdout)\(stale.stderr)")
        let diff = try Binary.run(["diff", "--db", db, "1:mapped", "2:mapped"])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stdout.contains("\n0 descriptors changed\n"), "\(diff.stdout)")
        let compare = try Binary.run(["compare", "--db", db])
        #expect(compare.status == 0 && compare.stdout.contains("kernel 6.12.118"), "\(compare.stdout)\(compare.stderr)")
        let runs = try Binary.run(["runs", "--db", db])
        #expect(runs.stdout.contains("kernel 6.12.118"))
        // The snapshot names the same point in both runs, and a kernel run's point restores into the engine.
        #expect(try Self.query(db, "SELECT count(*) AS n, count(DISTINCT seq) AS points FROM snapshots") == "n,points\n2,1\n")
        let restored = try Binary.run(["restore", "--db", db, "2:mapped", "--into", db])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try Self.query(db, "SELECT strategy, backend, parent_run, parent_seq = (SELECT seq FROM snapshots WHERE run = 1) AS at, status FROM runs WHERE id = 3")
                == "strategy,backend,parent_run,at,status\neager,engine,2,1,complete\n")
    }

    @Test("refusals: --strategy, --continue, a missing tree, --defer-sync-pte without the member, --kernel-profile: exit 2, the file unchanged",
          .enabled(if: enabled, missing))
    func refusals() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("m.pgs"), db = dir.appendingPathComponent("h.pgdb").path
        try "map 0x0 0x80000000 4K 1 rw\n".write(to: file, atomically: true, encoding: .utf8)
        let absent = dir.appendingPathComponent("absent.pgdb").path
        let missingTree = try Binary.run(["record", "--db", absent, "--kernel-source", dir.path, file.path], environment: Self.cache)
        #expect(missingTree.status == 2 && missingTree.stderr.contains("drivers/iommu/io-pgtable-arm.c is missing"), "\(missingTree.stderr)")
        #expect(!FileManager.default.fileExists(atPath: absent))
        #expect(try Binary.run(["record", "--db", db, "--kernel-source", tree, file.path], environment: Self.cache).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let cases: [([String], String)] = [
            (["--strategy", "deferred"], "--strategy deferred: --kernel-source runs the tree's own code"),
            (["--continue", "1"], "--continue 1 goes on in the run's own backend"),
            (["--defer-sync-pte"], "has no cfg.defer_sync_pte"),
            (["--kernel-profile", "6.12"], "--kernel-profile 6.12: --kernel-source runs the tree's own code"),
        ]
        for (flags, message) in cases {
            let r = try Binary.run(["record", "--db", db, "--kernel-source", tree] + flags + [file.path], environment: Self.cache)
            #expect(r.status == 2 && r.stderr.contains(message), "\(flags): \(r.stderr)")
        }
        let continued = try Binary.run(["record", "--db", db, "--continue", "1", file.path])
        #expect(continued.status == 2 && continued.stderr.contains("ran in kernel 6.12.118's own code"), "\(continued.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
    }

    @Test("a long map_sg and iommu_unmap in the kernel's code get checkpoints inside them; a point there is the engine's",
          .enabled(if: enabled, missing))
    func checkpointsInsideKernelCalls() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let dir = try Binary.scratch()
        let file = dir.appendingPathComponent("long.pgs"), db = dir.appendingPathComponent("h.pgdb").path
        // 2,000 pages in two halves (the first 2 MiB one block), then an
        // unmap from a page in: the block split, then pages and tables.
        try """
            config stage=1 granule=4k ias=48 oas=48
            map_sg 0x40000000 rw 0x900000000+0x3e8000 0xa00000000+0x3e8000
            iommu_unmap 0x40001000 0x7cf000
            """.write(to: file, atomically: true, encoding: .utf8)
        // The engine under the 6.12 profile: 6.12 splits the first 2 MiB
        // block to unmap all but its first page (mainline refuses).
        for backend in [["--kernel-profile", "6.12"], ["--kernel-source", tree]] {
            let r = try Binary.run(["record", "--db", db, "--checkpoint-every", "300"] + backend + [file.path], environment: Self.cache)
            #expect(r.status == 0, "\(r.stderr)")
        }
        // Checkpoints inside each long call, as many in the kernel's run as in the engine's.
        let inside = """
            SELECT c.run, k.name, count(p.seq) AS n FROM calls c JOIN call_kinds k ON k.code = c.kind
            LEFT JOIN checkpoints p ON p.run = c.run AND p.seq > c.seq AND p.seq < c.end_seq
            WHERE k.name IN ('map_sg', 'iommu_unmap') GROUP BY c.run, c.seq ORDER BY c.run, c.seq
            """
        let counts = try Self.query(db, inside).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        #expect(counts.count == 4, "\(counts)")
        for row in counts where row.count == 3 { #expect((Int(row[2]) ?? 0) > 0, "\(row)") }
        #expect(counts.count == 4 && counts[0][2] == counts[2][2] && counts[1][2] == counts[3][2], "\(counts)")
        // A point in the middle of each call dumps the same tables in both runs.
        let middles = try Self.query(db, "SELECT (seq + end_seq) / 2 AS mid FROM calls WHERE run = 1 AND kind IN (7, 8) ORDER BY seq")
            .split(separator: "\n").dropFirst()
        #expect(middles.count == 2)
        for mid in middles {
            let e = try Binary.run(["dump", "--db", db, "1:\(mid)"]), k = try Binary.run(["dump", "--db", db, "2:\(mid)"])
            #expect(e.status == 0 && k.status == 0, "\(k.stderr)")
            #expect(e.stdout.split(separator: "\n").count > 10)
            #expect(e.stdout.split(separator: "\n").dropFirst() == k.stdout.split(separator: "\n").dropFirst(), "at \(mid)")
        }
    }

    /// The pids of `parent`'s children whose command line contains `name`.
    static func children(of parent: Int32, named name: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("PPid:") }),
                  Int32(line.dropFirst(5).trimmingCharacters(in: .whitespaces)) == parent,
                  let cmdline = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
            return cmdline.contains(name)
        }
    }

    @Test("Ctrl-C inside one long map_sg through the kernel's code: the helper is gone, the committed events are there, the run incomplete",
          .enabled(if: enabled, missing))
    func interruptedInsideKernelCall() throws {
        let tree = try #require(Self.tree612, "CI=true but PGSTORE_KERNEL_SOURCE is not set")
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("k.pgdb").path
        let child = try Binary.start(["record", "--db", db, "--batch", "2000", "--kernel-source", tree, "--generate", "sg:pages=2000000"],
                                     in: dir, environment: Self.cache)
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
        // The helper may first be compiled (a minute at most on a cold cache).
        let deadline = Date().addingTimeInterval(240)
        var helpers: [Int32] = []
        while child.isRunning && Date() < deadline && (helpers.isEmpty || RecordCommandTests.events(db) < 20_000) {
            if helpers.isEmpty { helpers = Self.children(of: child.processIdentifier, named: "pgstore-kernel-helper") }
            usleep(50_000)
        }
        #expect(helpers.count == 1, "the kernel helper runs as a child: \(helpers)")
        #expect(RecordCommandTests.events(db) >= 20_000 && child.isRunning, "the call is still in progress")
        kill(child.processIdentifier, SIGINT)
        let stopBy = Date().addingTimeInterval(20)
        while child.isRunning && Date() < stopBy { usleep(50_000) }
        #expect(!child.isRunning, "stopped within 20 s")
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        child.waitUntilExit()
        #expect(child.terminationStatus == 130)
        let err = try String(contentsOf: dir.appendingPathComponent("child.err"), encoding: .utf8)
        #expect(err.contains("interrupted by SIGINT (Ctrl-C) inside call") && err.contains("(map_sg)") && err.contains("marked incomplete"), "\(err)")
        for pid in helpers { #expect(kill(pid, 0) != 0, "helper \(pid) outlived the recording") }
        let (events, rows, integrity) = try LiveRecordingTests.consistent(db)
        #expect(integrity == "ok")
        #expect(events >= 20_000 && rows == events, "\(events) events, \(rows) rows")
        let runs = try RecordCommandTests.runsJSON(db)
        #expect(runs.first?["status"] as? String == "incomplete")
        // The core call, and the io-pgtable map of one of its segments when
        // the stop came inside one (between two it is the core call alone).
        let open = try Self.query(db, "SELECT k.name FROM unfinished_calls u JOIN call_kinds k ON k.code = u.kind WHERE u.run = 1 ORDER BY u.seq")
        #expect(open == "name\nmap_sg\nmap\n" || open == "name\nmap_sg\n", "\(open)")
    }
}
