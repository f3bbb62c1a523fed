/// Descriptors in checkpoints (formats 3 and 4): the words a list names, as
/// runs of consecutive positions, each run either raw words or words
/// predicted from the one before them and bit-packed.
///
/// A word is predicted when its low 12 bits (attributes and type) equal the
/// previous listed word's: what differs is the bits above, in pages, and its
/// zigzagged change is packed in as many bits as the run's largest needs. A
/// leaf table of a map_sg is one run: a page scattered over 20M frames costs
/// 26 bits, the next page of a contiguous list 2, where a gap byte and a
/// varint per word cost 5 bytes and 2.
///
/// A list: the number of runs, then for each its gap from the end of the run
/// before (or from 0), its length, a kind byte (0: raw, each word a varint;
/// 1 + w: predicted, w bits each), then its words.
extension StateCodec {
    /// Words per run at most: a run's width is its largest change's, so one
    /// outlier widens no more than this many.
    static let descriptorRunLimit = 64
    /// The widest change: the bits above the 12 low ones, zigzagged.
    static let descriptorWidthLimit = 53
}

extension StateCodec.Writer {
    /// The words not skipped.
    mutating func descriptors(_ words: [UInt64], count: Int? = nil, skip: (Int, UInt64) -> Bool) {
        var positions: [Int] = []
        for i in 0..<(count ?? words.count) where !skip(i, words[i]) { positions.append(i) }
        descriptors(words, at: positions)
    }

    /// The words at `positions` (ascending).
    mutating func descriptors(_ words: [UInt64], at positions: [Int]) {
        var body = StateCodec.Writer()
        var runs = 0, end = 0, previous: UInt64 = 0
        var i = 0
        while i < positions.count {
            let start = i
            let predicted = words[positions[i]] & 0xfff == previous & 0xfff
            var last = words[positions[i]]
            i += 1
            while i < positions.count, i - start < StateCodec.descriptorRunLimit, positions[i] == positions[i - 1] + 1,
                  (words[positions[i]] & 0xfff == last & 0xfff) == predicted {
                last = words[positions[i]]
                i += 1
            }
            body.varint(UInt64(positions[start] - end))
            body.varint(UInt64(i - start))
            if predicted {
                var changes: [UInt64] = []
                changes.reserveCapacity(i - start)
                var before = previous, width = 0
                for k in start..<i {
                    let v = words[positions[k]]
                    let z = StateCodec.zigzag(Int64(bitPattern: (v >> 12) &- (before >> 12)))
                    changes.append(z)
                    width = max(width, 64 - z.leadingZeroBitCount)
                    before = v
                }
                body.byte(UInt8(1 + width))
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
    mutating func applyDescriptors(to out: inout [UInt64]) throws(StateCodec.DecodeError) {
        var unused: [Range<Int>] = []
        try applyDescriptors(to: &out, written: &unused, listing: false)
    }

    /// The same, appending the runs of positions written to `written`
    /// (ascending, one range a run: a list of every position cost a tenth of
    /// loading a long map_sg's state).
    mutating func applyDescriptors(to out: inout [UInt64], written: inout [Range<Int>]) throws(StateCodec.DecodeError) {
        try applyDescriptors(to: &out, written: &written, listing: true)
    }

    private mutating func applyDescriptors(to out: inout [UInt64], written: inout [Range<Int>], listing: Bool) throws(StateCodec.DecodeError) {
        typealias DecodeError = StateCodec.DecodeError
        let runs = try count()
        var end = 0
        var previous: UInt64 = 0
        for _ in 0..<runs {
            let gap = try varint(), length = try varint()
            guard gap <= UInt64(out.count), length >= 1, length <= UInt64(StateCodec.descriptorRunLimit) else {
                throw DecodeError(description: "bad descriptor run in checkpoint")
            }
            let start = end + Int(gap)
            guard start + Int(length) <= out.count else { throw DecodeError(description: "sparse index out of range in checkpoint") }
            let kind = try byte()
            if kind == 0 {
                for k in 0..<Int(length) {
                    previous = try varint()
                    out[start + k] = previous
                }
            } else {
                let width = Int(kind) - 1
                guard width <= StateCodec.descriptorWidthLimit else { throw DecodeError(description: "bad descriptor width in checkpoint") }
                var acc: UInt64 = 0, bits = 0
                let mask: UInt64 = width == 0 ? 0 : (1 << UInt64(width)) - 1
                for k in 0..<Int(length) {
                    // bits < width <= 53 before each byte: the sum fits.
                    while bits < width {
                        acc |= UInt64(try byte()) << UInt64(bits)
                        bits += 8
                    }
                    let z = acc & mask
                    acc = width == 0 ? acc : acc >> UInt64(width)
                    bits -= width
                    let pages = UInt64(bitPattern: StateCodec.unzigzag(z)) &+ (previous >> 12)
                    guard pages >> 52 == 0 else { throw DecodeError(description: "bad descriptor in checkpoint") }
                    previous = pages << 12 | previous & 0xfff
                    out[start + k] = previous
                }
            }
            if listing { written.append(start..<(start + Int(length))) }
            end = start + Int(length)
        }
    }
}
