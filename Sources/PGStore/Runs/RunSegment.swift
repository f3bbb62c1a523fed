import GRDB

/// One recording session of a run (`run_segments`): the first `record`, a
/// `restore`, or a `record --continue`, with what it read and how it ended.
public struct RunSegment: Sendable, Hashable {
    public var run: Int64
    /// 1, 2, ... in recording order.
    public var segment: Int64
    public var sourceKind: RunInfo.SourceKind
    public var source: String
    public var sourceSHA256: String
    public var pgstoreVersion: String
    public var startedAt: String
    public var endedAt: String?
    /// The run's last event before this segment; the segment added the events after it.
    public var startSeq: Int64
    /// The last event this segment committed.
    public var endSeq: Int64
    public var startCalls: Int64
    public var endCalls: Int64
    public var status: RunInfo.Status
    public var message: String?

    /// Events this segment added.
    public var events: Int64 { endSeq - startSeq }
    /// Top-level calls this segment added.
    public var calls: Int64 { endCalls - startCalls }

    init(row: Row) {
        run = row["run"]
        segment = row["segment"]
        sourceKind = RunInfo.SourceKind(rawValue: row["source_kind"]) ?? .script
        source = row["source"]
        sourceSHA256 = row["source_sha256"]
        pgstoreVersion = row["pgstore_version"]
        startedAt = row["started_at"]
        endedAt = row["ended_at"]
        startSeq = row["start_seq"]
        endSeq = row["end_seq"]
        startCalls = row["start_calls"]
        endCalls = row["end_calls"]
        status = RunInfo.Status(rawValue: row["status"]) ?? .incomplete
        message = row["message"]
        // As a run's effective status: a segment left running by a recorder
        // that is gone (killed, crashed) reads as what it is, incomplete.
        let stored = status
        status = stored.effective(recorderPID: row["recorder_pid"])
        if status != stored { message = message ?? "the recording process stopped before the segment ended" }
    }

    static let select = "SELECT s.*, r.recorder_pid AS recorder_pid FROM run_segments s JOIN runs r ON r.id = s.run"
}

extension HistoryStore {
    /// Every segment of every run, in run and recording order.
    public func segments() throws(StoreError) -> [Int64: [RunSegment]] {
        try read { db in
            Dictionary(grouping: try Row.fetchAll(db, sql: RunSegment.select + " ORDER BY s.run, s.segment").map(RunSegment.init(row:)),
                       by: \.run)
        }
    }

    /// The segments of one run, in recording order.
    public func segments(of run: Int64) throws(StoreError) -> [RunSegment] {
        try read { db in
            try Row.fetchAll(db, sql: RunSegment.select + " WHERE s.run = ? ORDER BY s.segment", arguments: [run])
                .map(RunSegment.init(row:))
        }
    }
}
