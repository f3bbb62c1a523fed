/// The key of a row of the event tables (schema version 10): one integer,
/// `(run << 40) | seq`, so a run's events are one range of every table's
/// rowid and recording appends to integer B-trees (migrations/0010).
public enum EventKey {
    /// Bits of the key that hold the event's seq.
    public static let seqBits: Int64 = 40
    /// The largest seq a run can hold.
    public static let maxSeq: Int64 = (1 << seqBits) - 1
    /// The largest run id a file can hold (the key stays a positive Int64).
    public static let maxRun: Int64 = (1 << (63 - seqBits)) - 1

    /// SQL: the keys of the run bound to parameter ?1.
    public static let idsOfRun1 = "id BETWEEN ?1 << \(seqBits) AND ((?1 + 1) << \(seqBits)) - 1"

    /// The key of event `seq` of run `run`.
    @inline(__always)
    public static func id(run: Int64, seq: Int64) -> Int64 { (run << seqBits) | seq }

    /// The keys of run `run`'s events after `after` up to and including
    /// `through`, as the bounds of `id > ? AND id <= ?`.
    public static func range(run: Int64, after: Int64, through: Int64) -> (Int64, Int64) {
        (id(run: run, seq: max(0, min(after, maxSeq))), id(run: run, seq: max(0, min(through, maxSeq))))
    }
}
