/// Descriptors in checkpoints (formats 3 and later): the words a list names,
/// as runs of consecutive positions, each run either raw words or words
/// predicted from the one before them and bit-packed.
///
/// A word is predicted when its low 12 bits (attributes and type) equal the
/// previous word's: what differs is the bits above, in pages, and its
/// zigzagged change is packed in as many bits as the run's largest needs. A
/// leaf table of a map_sg is one run: a page scattered over 20M frames costs
/// 26 bits, the next page of a contiguous list 2, where a gap byte and a
/// varint per word cost 5 bytes and 2.
///
/// A list: the number of runs, then for each its gap from the end of the run
/// before (or from 0), its length, a kind byte (0: raw, each word a varint;
/// 1 + w: predicted, w bits each), then its words.
///
/// Runs are independent (formats 5 and 6, whole states and deltas): a predicted run's first word goes
/// as a varint and the others are predicted from it, so a reader can step
/// over a run it does not need in O(1) (WordSelection.swift): loading a few
/// tables of a 20M-event map_sg's state no longer follows the predictions
/// of its 2.5M descriptors. It costs a varint a run, under 2% of a map_sg's
/// checkpoints. In formats 3 and 4 a run's first word was predicted from
/// the last word of the run before.
extension StateCodec {
    /// Words per run at most: a run's width is its largest change's, so one
    /// outlier widens no more than this many.
    static let descriptorRunLimit = 64
    /// The widest change: the bits above the 12 low ones, zigzagged.
    static let descriptorWidthLimit = 53
}

extension StateCodec.Writer {
    /// The words not skipped.
    mutating func descriptors(_ words: [UInt64], count: Int? = nil, independentRuns: Bool = true, skip: (Int, UInt64) -> Bool) {
        var positions: [Int] = []
        for i in 0..<(count ?? words.count) where !skip(i, words[i]) { positions.append(i) }
        descriptors(words, at: positions, independentRuns: independentRuns)
    }

    /// The words at `positions` (ascending); `independentRuns` false: as
    /// formats 3 and 4 wrote them.
    mutating func descriptors(_ words: [UInt64], at positions: [Int], independentRuns: Bool = true) {
        var body = StateCodec.Writer()
        var runs = 0, end = 0, previous: UInt64 = 0
        var i = 0
        while i < positions.count {
            let start = i
            var last = words[positions[i]]
            let predicted: Bool
            if independentRuns {
                // Predicted from its own first word: worth it from two words.
                predicted = i + 1 < positions.count && positions[i + 1] == positions[i] + 1 && words[positions[i + 1]] & 0xfff == last & 0xfff
                previous = last
            } else {
                predicted = last & 0xfff == previous & 0xfff
            }
            i += 1
            while i < positions.count, i - start < StateCodec.descriptorRunLimit, positions[i] == positions[i - 1] + 1,
                  (words[positions[i]] & 0xfff == last & 0xfff) == predicted {
                last = words[positions[i]]
                i += 1
            }
            body.varint(UInt64(positions[start] - end))
            body.varint(UInt64(i - start))
            if predicted {
                let first = independentRuns ? start + 1 : start
                var changes: [UInt64] = []
                changes.reserveCapacity(i - first)
                var before = previous, width = 0
                for k in first..<i {
                    let v = words[positions[k]]
                    let z = StateCodec.zigzag(Int64(bitPattern: (v >> 12) &- (before >> 12)))
                    changes.append(z)
                    width = max(width, 64 - z.leadingZeroBitCount)
                    before = v
                }
                body.byte(UInt8(1 + width))
                if independentRuns { body.varint(words[positions[start]]) }
                body.packed(changes, width: width)
            } else {
                body.byte(0)
                for k in start..<i { body.varint(words[positions[k]]) }
            }
            runs += 1
            end = positions[i - 1] + 1
            previous = last
        }
        varint(UInt64(runs))
        bytes.append(contentsOf: body.bytes)
    }

    /// `values`, `width` bits each, least significant first, padded to a byte.
    mutating func packed(_ values: [UInt64], width: Int) {
        guard width > 0 else { return }
        var acc: UInt64 = 0, bits = 0
        for v in values {
            // bits < 8 here and width <= 53: the sum fits.
            acc |= v << UInt64(bits)
            bits += width
            while bits >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: acc))
                acc >>= 8
                bits -= 8
            }
        }
        if bits > 0 { bytes.append(UInt8(truncatingIfNeeded: acc)) }
    }
}

extension StateCodec.Reader {
    /// Overwrites the words a ``StateCodec/Writer/descriptors(_:skip:)`` list names.
    mutating func applyDescriptors(to out: inout [UInt64], independentRuns: Bool = true) throws(StateCodec.DecodeError) {
        var unused: [Range<Int>] = []
        try applyDescriptors(to: &out, words: out.count, selecting: .all, independentRuns: independentRuns, written: &unused, listing: false)
    }

    /// The same for a list over `words` words, writing only the selected ones.
    mutating func applyDescriptors(to out: inout [UInt64], words: Int, selecting selection: WordSelection,
                                   independentRuns: Bool) throws(StateCodec.DecodeError) {
        var unused: [Range<Int>] = []
        try applyDescriptors(to: &out, words: words, selecting: selection, independentRuns: independentRuns, written: &unused, listing: false)
    }

    /// The same, appending the runs of positions written to `written`
    /// (ascending, one range a run: a list of every position cost a tenth of
    /// loading a long map_sg's state). Runs are listed whole, selected or not.
    mutating func applyDescriptors(to out: inout [UInt64], words: Int, selecting selection: WordSelection,
                                   independentRuns: Bool, written: inout [Range<Int>]) throws(StateCodec.DecodeError) {
        try applyDescriptors(to: &out, words: words, selecting: selection, independentRuns: independentRuns, written: &written, listing: true)
    }

    private mutating func applyDescriptors(to out: inout [UInt64], words: Int, selecting selection: WordSelection,
                                           independentRuns: Bool, written: inout [Range<Int>], listing: Bool) throws(StateCodec.DecodeError) {
        typealias DecodeError = StateCodec.DecodeError
        let runs = try count()
        var end = 0
        var previous: UInt64 = 0
        var cursor = WordSelection.Cursor(selection)
        for _ in 0..<runs {
            let gap = try varint(), length = try varint()
            guard gap <= UInt64(words), length >= 1, length <= UInt64(StateCodec.descriptorRunLimit) else {
                throw DecodeError(description: "bad descriptor run in checkpoint")
            }
            let start = end + Int(gap)
            guard start + Int(length) <= words else { throw DecodeError(description: "sparse index out of range in checkpoint") }
            let whole = selection.isAll, keep = cursor.overlaps(start..<(start + Int(length)))
            // A chained run no selected word meets is still followed: the
            // next run's first word is predicted from its last. An
            // independent one is stepped over.
            let follow = keep || (!independentRuns && selection.ranges?.isEmpty != true)
            let kind = try byte()
            if kind == 0 {
                for k in 0..<Int(length) {
                    if follow {
                        previous = try varint()
                        if whole || (keep && cursor.contains(start + k)) { out[start + k] = previous }
                    } else {
                        try skipVarint()
                    }
                }
            } else {
                let width = Int(kind) - 1
                guard width <= StateCodec.descriptorWidthLimit else { throw DecodeError(description: "bad descriptor width in checkpoint") }
                var packed = Int(length)
                if independentRuns {
                    // The first word, whole; the others from it.
                    packed -= 1
                    if follow {
                        previous = try varint()
                        if whole || (keep && cursor.contains(start)) { out[start] = previous }
                    } else {
                        try skipVarint()
                    }
                }
                let first = start + Int(length) - packed
                let bytesUsed = (packed * width + 7) / 8
                guard at + bytesUsed <= bytes.count else { throw DecodeError(description: "checkpoint ends early") }
                if follow {
                    previous = try packedRun(at: at, count: packed, width: width, previous: previous, start: first,
                                             into: &out, store: whole ? nil : (keep ? cursor : nil), all: whole)
                }
                at += bytesUsed
            }
            if listing { written.append(start..<(start + Int(length))) }
            end = start + Int(length)
        }
    }

    /// Decodes the `count` predicted words of a run of `width` bits each at
    /// byte `at`, each from the one before (the first from `previous`), and
    /// returns the last. Stores each at `start + k` in `out` when `all`, or
    /// when `store` (a cursor at or before the run) selects it; with neither
    /// it only follows the predictions. Reads eight bytes at a time: the
    /// bounds of the run are checked once, by the caller.
    @inline(__always)
    private func packedRun(at offset: Int, count: Int, width: Int, previous first: UInt64, start: Int,
                           into out: inout [UInt64], store: WordSelection.Cursor?, all: Bool) throws(StateCodec.DecodeError) -> UInt64 {
        let runBytes = (count * width + 7) / 8
        let mask: UInt64 = width == 0 ? 0 : (1 << UInt64(width)) - 1
        var previous = first
        var damaged: UInt64 = 0
        var cursor = store
        if let base = bytes.baseAddress {
            let p = base + offset
            for k in 0..<count {
                let bit = k * width, byte = bit >> 3
                var word: UInt64
                if byte + 8 <= runBytes {
                    word = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: byte, as: UInt64.self))
                } else {
                    word = 0
                    for j in 0..<(runBytes - byte) { word |= UInt64(p.load(fromByteOffset: byte + j, as: UInt8.self)) << UInt64(8 * j) }
                }
                // width <= 53 and a shift of at most 7: the word holds it.
                let z = (word >> UInt64(bit & 7)) & mask
                let pages = UInt64(bitPattern: StateCodec.unzigzag(z)) &+ (previous >> 12)
                damaged |= pages >> 52
                previous = pages << 12 | previous & 0xfff
                if all {
                    out[start + k] = previous
                } else if cursor != nil, cursor!.contains(start + k) {
                    out[start + k] = previous
                }
            }
        }
        guard damaged == 0 else { throw StateCodec.DecodeError(description: "bad descriptor in checkpoint") }
        return previous
    }

    /// Steps over a varint.
    @inline(__always)
    mutating func skipVarint() throws(StateCodec.DecodeError) {
        var n = 0
        while true {
            let b = try byte()
            n += 1
            guard n <= 10 else { throw StateCodec.DecodeError(description: "bad varint in checkpoint") }
            if b & 0x80 == 0 { return }
        }
    }
}
