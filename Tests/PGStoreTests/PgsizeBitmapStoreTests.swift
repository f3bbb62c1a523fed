import Foundation
import GRDB
import Testing
@testable import PGEngine
@testable import PGStore

/// A run's page-size bitmap (migration 0006): NULL for arm-smmu-v3's default,
/// otherwise kept through recording, reconstruction, restore and continue.
@Suite("Page sizes in the store")
struct PgsizeBitmapStoreTests {
    static let source = WorkloadSource(kind: .generator, description: "t", sha256: "0")
    static let t4: UInt64 = 1 << 42
    /// 64K granule, 52-bit OAS, a driver offering 64K and 512M only (no 4T).
    static let noBlock4T = PageTableConfig(granule: .size64K, ias: 52, oas: 52, pgsizeBitmap: 0x2001_0000)

    static func mapSteps(_ iova: UInt64) -> [WorkloadStep] {
        [.call(Call(kind: .iommuMap, iova: iova, paddr: 0xf_0000_0000_0000, size: t4, prot: [.read, .write]), line: 1),
         .call(.mapPages(iova: iova + t4, paddr: 0xe_0000_0000_0000, pgsize: t4, pgcount: 1, prot: [.read, .write]), line: 2)]
    }

    static func stored(_ store: HistoryStore, _ run: Int64) throws -> Int64? {
        try store.read { db in try Int64?.fetchOne(db, sql: "SELECT pgsize_bitmap FROM runs WHERE id = ?", arguments: [run]) ?? nil }
    }

    static func results(_ store: HistoryStore, _ run: Int64) throws -> [[Int64]] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, size, count, ret, value FROM calls WHERE run = ? AND depth = 0 AND kind != 0 ORDER BY seq", arguments: [run])
                .map { [$0["kind"], $0["size"], $0["count"], $0["ret"], $0["value"]] }
        }
    }

    @Test("recorded, read back and reconstructed; the default is NULL")
    func recorded() throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let custom = try RunRecording(config: Self.noBlock4T, strategy: .eager, source: Self.source, pgstoreVersion: "test")
            .record(into: store, steps: Self.mapSteps(0x400_0000_0000))
        var defaultConfig = Self.noBlock4T
        defaultConfig.pgsizeBitmap = nil
        let standard = try RunRecording(config: defaultConfig, strategy: .eager, source: Self.source, pgstoreVersion: "test")
            .record(into: store, steps: Self.mapSteps(0x400_0000_0000))
        // A bitmap the restriction makes the default is stored as the default.
        var sameAsDefault = Self.noBlock4T
        sameAsDefault.pgsizeBitmap = 0x400_2001_0000 | 0x4020_1000
        let normalised = try RunRecording(config: sameAsDefault, strategy: .eager, source: Self.source, pgstoreVersion: "test")
            .record(into: store, steps: [WorkloadStep]())

        #expect(try Self.stored(store, custom.run) == 0x2001_0000)
        #expect(try Self.stored(store, standard.run) == nil)
        #expect(try Self.stored(store, normalised.run) == nil)
        #expect(try store.run(custom.run).config.pgsizeBitmap == 0x2001_0000)
        #expect(try store.run(standard.run).config.pgsizeBitmap == nil)

        // Without 4T: iommu_map of 4T is 8192 512M blocks, map_pages of 4T is -EINVAL.
        // With arm-smmu-v3's 4T: one map_pages of 4T each time.
        #expect(try Self.results(store, custom.run) == [[6, 0x400_0000_0000, 0, 0, 0x400_0000_0000], [1, 0x400_0000_0000, 1, -22, 0]])
        #expect(try Self.results(store, standard.run) == [[6, 0x400_0000_0000, 0, 0, 0x400_0000_0000], [1, 0x400_0000_0000, 1, 0, 0x400_0000_0000]])
        let reconstructed = try store.reconstruct(Point(run: custom.run, seq: custom.events)).engine
        #expect(reconstructed.geometry.pgsizeBitmap == 0x2001_0000)
        #expect(DescriptorFormat.isTable(reconstructed.entry(1, of: reconstructed.root), level: 1))
        #expect(try store.reconstruct(Point(run: standard.run, seq: standard.events)).engine.geometry.pgsizeBitmap == 0x400_2001_0000)
    }

    @Test("a restored run keeps the bitmap, and continuing it maps as the original would")
    func restoreAndContinue() throws {
        let store = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { store.close() }
        let original = try RunRecording(config: Self.noBlock4T, strategy: .eager, source: Self.source, pgstoreVersion: "test")
            .record(into: store, steps: Self.mapSteps(0x400_0000_0000))
        let other = try HistoryStore(path: try Scratch.file(), mode: .write)
        defer { other.close() }
        let restored = try store.restore(Point(run: original.run, seq: original.events), into: other, strategy: nil)
        #expect(try Self.stored(other, restored) == 0x2001_0000)
        #expect(try other.run(restored).config.pgsizeBitmap == 0x2001_0000)

        let more = Self.mapSteps(0x1000_0000_0000)
        let continued = try other.continueRun(restored, steps: more, source: Self.source, pgstoreVersion: "test",
                                              batchSize: 1000, lenient: false, failOnCallError: false)
        #expect(continued.status == .complete)
        #expect(try Self.results(other, restored) == [[6, 0x400_0000_0000, 0, 0, 0x400_0000_0000], [1, 0x400_0000_0000, 1, -22, 0]])
        // The original, continued the same way, records the same calls.
        let again = try store.continueRun(original.run, steps: more, source: Self.source, pgstoreVersion: "test",
                                          batchSize: 1000, lenient: false, failOnCallError: false)
        #expect(again.status == .complete)
        #expect(Array(try Self.results(store, original.run).suffix(2)) == Array(try Self.results(other, restored).suffix(2)))
        let end = try other.reconstruct(Point(run: restored, seq: try other.lastSeq(of: restored))).engine
        #expect(end.iovaToPhys(0x1000_1234_5678).value == 0xf_0000_1234_5678)
    }

    @Test("a file from before 0006 reads its runs with the default bitmap")
    func olderFile() throws {
        let path = try Scratch.file()
        let old = try DatabaseQueue(path: path)
        try Schema.migrator(upTo: "0004_views").migrate(old)
        try old.write { db in
            try db.execute(sql: """
                INSERT INTO runs (strategy, stage, granule, ias, oas, coherent_walk, line_size, no_warn, non_secure,
                    source_kind, source, source_sha256, pgstore_version, started_at, status)
                VALUES ('eager', 1, 65536, 52, 52, 0, 64, 0, 0, 'script', 'a.pgs', '0', 'old', '2026-01-01T00:00:00Z', 'complete')
                """)
        }
        try old.close()
        let store = try HistoryStore(path: path, mode: .write)
        defer { store.close() }
        #expect(try store.appliedMigrations() == Schema.identifiers)
        let info = try store.run(1)
        #expect(info.config.pgsizeBitmap == nil)
        #expect(try Geometry(info.config).pgsizeBitmap == 0x400_2001_0000)
    }
}
