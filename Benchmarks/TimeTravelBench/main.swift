import Foundation
import PGEngine
import PGSources
import PGStore

// Time travel benchmark: churn histories of about 100k, 1M and 10M events;
// reconstruct a point near the end and one in the middle, diff two points
// 1,000 events apart; checkpoint space per event. Then reconstruction time
// against the checkpoint interval K on the 1M history.

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func record(ops: Int, checkpointEvery: Int64, into path: String) throws -> (run: Int64, events: Int64, seconds: Double) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    let store = try HistoryStore(path: path, mode: .write)
    defer { store.close() }
    let geometry = try Geometry(.default)
    var r = RunRecording(config: .default, strategy: .eager,
                         source: WorkloadSource(kind: .generator, description: "churn:ops=\(ops)", sha256: "0"), pgstoreVersion: "bench")
    r.checkpointEvery = checkpointEvery
    let t = now()
    let o = try r.record(into: store, steps: ChurnWorkload(operations: ops, seed: 1, geometry: geometry).lazy.map { WorkloadStep.call($0, line: 0) })
    return (o.run, o.events, now() - t)
}

func best(_ n: Int, _ body: () throws -> Void) rethrows -> Double {
    var b = Double.infinity
    for _ in 0..<n {
        let t = now()
        try body()
        b = min(b, now() - t)
    }
    return b
}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgstore-bench-tt-\(getpid())")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }

let scale = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 1 : 1
let sizes = [2_200, 22_000, 220_000].map { Int(Double($0) * scale) }
let k = RunRecording.defaultCheckpointEvery
print("pgstore time travel benchmark: churn histories under eager, checkpoint every \(k) events (best of 5)")
print("")
print("events      record s  reconstruct end ms  reconstruct middle ms  diff 1k ms  checkpoint bytes/event")
var rows: [(Int64, Double, Double, Double)] = []
for ops in sizes {
    let path = dir.appendingPathComponent("h\(ops).pgdb").path
    let rec = try record(ops: ops, checkpointEvery: k, into: path)
    let store = try HistoryStore(path: path, mode: .read)
    let end = Point(run: rec.run, seq: rec.events - 1)
    let middle = Point(run: rec.run, seq: rec.events / 2)
    let tEnd = try best(5) { _ = try store.reconstruct(end) }
    let tMid = try best(5) { _ = try store.reconstruct(middle) }
    let tDiff = try best(5) { _ = try store.diff(Point(run: rec.run, seq: middle.seq), Point(run: rec.run, seq: middle.seq + 1000)) }
    let cpBytes = try store.read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(sum(bytes), 0) FROM checkpoints")! }
    store.close()
    rows.append((rec.events, tEnd, tMid, tDiff))
    print(String(format: "%-10lld  %8.2f  %18.1f  %21.1f  %10.1f  %22.2f", rec.events, rec.seconds, tEnd * 1000, tMid * 1000, tDiff * 1000,
                 Double(cpBytes) / Double(rec.events)))
}
let first = rows[0], last = rows[rows.count - 1]
print("")
print(String(format: "ratio largest/smallest history: reconstruct end %.2f, middle %.2f, diff %.2f (target <= 2)",
             last.1 / first.1, last.2 / first.2, last.3 / first.3))

print("")
print("checkpoint interval K on a \(sizes[1])-op history: reconstruction of the middle and the space it costs")
print("K          reconstruct middle ms  checkpoint bytes/event")
for interval: Int64 in [25_000, 50_000, 100_000, 200_000, 400_000] {
    let path = dir.appendingPathComponent("k\(interval).pgdb").path
    let rec = try record(ops: sizes[1], checkpointEvery: interval, into: path)
    let store = try HistoryStore(path: path, mode: .read)
    var worst = 0.0
    // The worst case is just before a checkpoint: try a few offsets.
    for offset in stride(from: Int64(0), to: interval, by: Int(interval / 4)) {
        let p = Point(run: rec.run, seq: min(rec.events, rec.events / 2 + offset))
        worst = max(worst, try best(3) { _ = try store.reconstruct(p) })
    }
    let cpBytes = try store.read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(sum(bytes), 0) FROM checkpoints")! }
    store.close()
    print(String(format: "%-9lld  %21.1f  %22.2f", interval, worst * 1000, Double(cpBytes) / Double(rec.events)))
}
