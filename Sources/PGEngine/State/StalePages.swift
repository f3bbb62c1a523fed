/// The stale descriptors of each 4 KiB page of table memory, as checkpoints
/// of formats 5 and 6 keep them: a whole state lists every page that has
/// any, a delta the new count of each page it changed (0 included). A
/// reader that decodes only part of a state (WordSelection.swift) then
/// knows the stale descriptors of the pages it left out without decoding
/// them: inside a long map_sg under a strategy that defers its leaf cleans,
/// every line the call wrote is dirty, and counting its stale descriptors
/// from the words would mean decoding the whole state.
public struct StalePages: Sendable, Equatable {
    /// Page → stale descriptors, for the pages that have any.
    public var counts: [Int: Int] = [:]
    /// False once a checkpoint of the chain did not keep them (formats before
    /// 5 and 6, or one written without them): the counts are then unknown.
    public var known = true

    public init() {}
}

extension StateCodec {
    /// Writes `pages` ((page, count), ascending; nil: not kept).
    static func writeStalePages(_ pages: [(page: Int, count: Int)]?, _ w: inout Writer) {
        guard let pages else {
            w.byte(0)
            return
        }
        w.byte(1)
        w.varint(UInt64(pages.count))
        var last = 0
        for (page, count) in pages {
            w.varint(UInt64(page - last))
            w.varint(UInt64(count))
            last = page
        }
    }

    /// Reads a list ``writeStalePages(_:_:)`` wrote into `stale`: a whole
    /// state's replaces it, a delta's updates it.
    static func readStalePages(_ r: inout Reader, whole: Bool, words: Int, into stale: inout StalePages) throws(DecodeError) {
        guard try r.byte() == 1 else {
            stale = StalePages()
            stale.known = false
            return
        }
        if whole { stale = StalePages() }
        let n = try r.count()
        var page = 0
        for _ in 0..<n {
            page += try r.int(below: words / PhysicalMemory.wordsPerPage + 1)
            let count = try r.int(below: PhysicalMemory.wordsPerPage + 1)
            guard page <= words / PhysicalMemory.wordsPerPage else { throw DecodeError(description: "stale page beyond the table memory in checkpoint") }
            if stale.known { stale.counts[page] = count == 0 ? nil : count }
        }
    }
}
