import Foundation
import GRDB
import GRDBSQLite
import PGEngine

/// Where a recording is, for a progress display.
public struct RecordingProgress: Sendable {
    /// Events and top-level calls in the run so far (recorded, not all committed yet).
    public var events: Int64
    public var calls: Int64
    /// Work done, in the units of ``RunRecording/work(of:granule:)``: the steps
    /// before the current one, and the share of the current call its writes have reached.
    public var work: Double
}

/// Batches: the recorder commits every `batchSize` events wherever they fall,
/// also inside a long call, and at least every `commitInterval` while events
/// come slowly (a followed trace). A batch is one transaction: a reader sees
/// all of it or none. Each commit moves the run's and the segment's counters
/// with the events, and lists the calls still open in `unfinished_calls`, so a
/// recording killed at any moment leaves a history that says exactly what was
/// recorded and which calls never ended.
extension Recorder {
    /// How many events pass between two looks at the clock and the stop request.
    static let pollEvery = 1024

    /// Writes the open map_sg's list entries whose IOVA starts at or below
    /// `limit` (every entry the call's writes have reached, and the next).
    func writeList(through limit: UInt64) {
        guard var list = pendingList else { return }
        while list.next < list.segments.count && list.iova <= limit {
            let s = list.segments[list.next]
            add(insertSegment, run, list.call, Int64(list.next), Int64(bitPattern: s.paddr), Int64(bitPattern: s.length))
            list.iova &+= s.length
            list.next += 1
        }
        pendingList = list.next < list.segments.count ? list : nil
    }

    /// Commits the open batch and (unless it is the last) begins the next.
    func commitBatch(andBegin: Bool = true) throws {
        // The list entries the committed events depend on go with them.
        if pendingList != nil { writeList(through: frontier) }
        flushRows()
        for i in open.indices where !open[i].listed {
            let o = open[i], c = o.call
            step(insertUnfinished, run, o.seq, o.parent, Int64(o.depth), Int64(c.kind.code), Int64(bitPattern: c.iova),
                 Int64(bitPattern: c.paddr), Int64(bitPattern: c.size), Int64(bitPattern: c.count), Int64(c.prot.rawValue),
                 o.depth == 0 ? Int64(sourceLine) : 0, count: 11)
            open[i].listed = true
        }
        step(updateRun, events, topLevelCalls, run, count: 3)
        step(updateSegment, events, topLevelCalls, run, segment, count: 4)
        if let failure { throw StoreError(.sqlite, path: "", failure) }
        try totals.write(run: run, events: events, calls: topLevelCalls, with: totalsStatements)
        try db.execute(sql: "COMMIT")
        if andBegin { try db.execute(sql: "BEGIN IMMEDIATE") }
        eventsSinceCommit = 0
        lastCommit = DispatchTime.now().uptimeNanoseconds
    }

    /// A commit from inside an event, which cannot throw: a failure stops the writing.
    func commitInsideCall() {
        guard failure == nil else { return }
        do { try commitBatch() } catch { failure = failure ?? "committing a batch: \(error)" }
    }

    /// The periodic look: a stop request, a commit that is due by time, progress.
    func poll() {
        if let reason = stopRequest() {
            stop(reason)
            return
        }
        let now = DispatchTime.now().uptimeNanoseconds
        if eventsSinceCommit > 0 && now &- lastCommit >= commitInterval { commitInsideCall() }
        if now &- lastProgress >= 100_000_000 {
            lastProgress = now
            onProgress(progress)
        }
    }

    /// Stops where it is: what was recorded is committed, and nothing after.
    /// Inside a call, `onStopInsideCall` is told (the command ends the process
    /// there rather than wait for the engine to finish a call nobody records).
    func stop(_ reason: String) {
        guard stopped == nil else { return }
        commitInsideCall()
        stopped = reason
        if !open.isEmpty { onStopInsideCall(reason) }
    }

    var progress: RecordingProgress {
        var share = 0.0
        if !open.isEmpty, callBytes > 0, frontier > callStart {
            share = min(1, Double(frontier &- callStart) / Double(callBytes))
        }
        return RecordingProgress(events: events, calls: topLevelCalls, work: Double(workBefore) + share * Double(currentWork))
    }

    /// A gap the trace reports (lost events), at the current point.
    func recordGap(cpu: Int, lost: Int64?, marker: String, line: Int) {
        guard stopped == nil, failure == nil else { return }
        let s = insertGap.sqliteStatement
        sqlite3_bind_int64(s, 1, run)
        sqlite3_bind_int64(s, 2, events)
        sqlite3_bind_int64(s, 3, Int64(line))
        sqlite3_bind_int64(s, 4, Int64(cpu))
        if let lost { sqlite3_bind_int64(s, 5, lost) } else { sqlite3_bind_null(s, 5) }
        sqlite3_bind_text(s, 6, marker, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        if rc != SQLITE_DONE { failure = "SQLite error \(rc): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))" }
        gaps += 1
    }
}

extension Call {
    /// The bytes of IOVA space the call covers (a map_sg's whole list).
    public var bytesCovered: UInt64 {
        switch kind {
        case .mapPages, .unmapPages: return size &* count
        case .iommuMapSG: return segments.reduce(0) { $0 &+ $1.length }
        default: return size
        }
    }
}
