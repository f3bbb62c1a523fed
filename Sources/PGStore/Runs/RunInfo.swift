import Foundation
import GRDB
import PGEngine

/// One row of `runs`: a workload recorded under one configuration and strategy.
public struct RunInfo: Sendable, Hashable {
    public enum Status: String, Sendable { case running, complete, failed, incomplete }
    public enum SourceKind: String, Sendable { case script, ftrace, generator, restore }

    public var id: Int64
    /// The engine strategy the run was recorded under; for a kernel run, the
    /// one its events are replayed under (eager: replay does not depend on it).
    public var strategy: Strategy
    /// `runs.strategy` as stored: the engine strategy's name, or the kernel's (`kernel 6.12.118+defer_sync_pte`).
    public var label: String
    /// What ran the io-pgtable calls: pgstore's engine, or a kernel tree's own code.
    public var backend: RunBackend
    public var config: PageTableConfig
    public var sourceKind: SourceKind
    public var source: String
    public var sourceSHA256: String
    public var pgstoreVersion: String
    public var startedAt: String
    public var endedAt: String?
    public var status: Status
    public var message: String?
    public var recorderPID: Int64?
    public var parentRun: Int64?
    public var parentSeq: Int64?
    public var events: Int64
    public var calls: Int64

    /// Whether another run's states can be compared with this one's (same table format).
    public func sharesConfiguration(with other: RunInfo) -> Bool {
        config.stage == other.config.stage && config.granule == other.config.granule
            && config.ias == other.config.ias && config.oas == other.config.oas
    }

    /// The status a reader should see: a `running` run whose recorder is gone is incomplete.
    public var effectiveStatus: Status { status.effective(recorderPID: recorderPID) }

    init(row: Row) throws {
        id = row["id"]
        let strategyName: String = row["strategy"]
        label = strategyName
        backend = try RunBackend(row: row)
        if case .kernel = backend {
            strategy = .eager
        } else {
            guard let s = Strategy(parsing: strategyName) else {
                throw StoreError(.invalid, path: "", "run \(row["id"] as Int64) has an unknown strategy \(strategyName)")
            }
            strategy = s
        }
        var c = PageTableConfig()
        c.stage = (row["stage"] as Int) == 2 ? .two : .one
        c.granule = Granule(rawValue: UInt64(row["granule"] as Int64)) ?? .size4K
        c.ias = row["ias"]
        c.oas = row["oas"]
        c.coherentWalk = row["coherent_walk"]
        c.lineSize = row["line_size"]
        c.noWarn = row["no_warn"]
        c.nonSecure = row["non_secure"]
        c.pgsizeBitmap = (row["pgsize_bitmap"] as Int64?).map { UInt64(bitPattern: $0) }
        if let name = row["kernel_profile"] as String? {
            guard let profile = KernelProfile(parsing: name) else {
                throw StoreError(.invalid, path: "", "run \(row["id"] as Int64) has an unknown kernel profile \(name)")
            }
            c.profile = profile
        }
        config = c
        sourceKind = SourceKind(rawValue: row["source_kind"]) ?? .script
        source = row["source"]
        sourceSHA256 = row["source_sha256"]
        pgstoreVersion = row["pgstore_version"]
        startedAt = row["started_at"]
        endedAt = row["ended_at"]
        status = Status(rawValue: row["status"]) ?? .incomplete
        message = row["message"]
        recorderPID = row["recorder_pid"]
        parentRun = row["parent_run"]
        parentSeq = row["parent_seq"]
        events = row["events"]
        calls = row["calls"]
    }

    /// `runs.pgsize_bitmap` for a run of this geometry: the page sizes after
    /// the kernel's restriction, or NULL when they are arm-smmu-v3's default.
    static func storedPgsizeBitmap(_ geometry: Geometry) -> Int64? {
        geometry.hasDefaultPgsizeBitmap ? nil : Int64(bitPattern: geometry.pgsizeBitmap)
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}

extension HistoryStore {
    /// Every run, oldest first.
    public func runs() throws(StoreError) -> [RunInfo] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id").map(RunInfo.init(row:)) }
    }

    public func run(_ id: Int64) throws(StoreError) -> RunInfo {
        let found = try read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]).map(RunInfo.init(row:)) }
        guard let found else { throw StoreError(.notFound, path: path, "has no run \(id)") }
        return found
    }
}

extension RunInfo.Status {
    /// As a reader should see it: `running` with no live recorder is incomplete.
    public func effective(recorderPID pid: Int64?) -> RunInfo.Status {
        self == .running && !(pid.map(HistoryStore.processIsAlive) ?? false) ? .incomplete : self
    }
}
