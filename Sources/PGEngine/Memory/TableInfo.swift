/// One table page the engine allocated: where it is, what it maps, and how it
/// hangs in the tree. Identified by its allocation ordinal (`T#n` in the
/// conformance logs), so a freed page reused later is a new table.
public struct TableInfo: Sendable, Hashable, Codable {
    /// Allocation ordinal, also the table's id.
    public let id: Int
    public let pa: UInt64
    /// Bytes of descriptors (the PGD size for the root, the granule otherwise).
    public let bytes: UInt64
    /// Bytes the allocator handed out.
    public let allocBytes: UInt64
    public let level: Int
    /// The table whose descriptor points here (nil for the root).
    public let parent: Int?
    /// Index of that descriptor in the parent.
    public let parentIndex: Int
    /// First IOVA this table translates.
    public let iovaBase: UInt64
    /// True once freed.
    public internal(set) var freed: Bool = false

    public var entries: Int { Int(bytes / 8) }

    public init(id: Int, pa: UInt64, bytes: UInt64, allocBytes: UInt64, level: Int, parent: Int?, parentIndex: Int, iovaBase: UInt64) {
        self.id = id; self.pa = pa; self.bytes = bytes; self.allocBytes = allocBytes; self.level = level
        self.parent = parent; self.parentIndex = parentIndex; self.iovaBase = iovaBase
    }
}

extension TableInfo {
    /// A freed table as a whole-state checkpoint keeps it: its id and that it
    /// is freed. Nothing reads a freed table's record: ids are never reused,
    /// and the log names a table by its path when it frees it, from the live
    /// engine.
    public static func tombstone(id: Int) -> TableInfo {
        var t = TableInfo(id: id, pa: 0, bytes: 0, allocBytes: 0, level: 0, parent: nil, parentIndex: 0, iovaBase: 0)
        t.freed = true
        return t
    }
}
