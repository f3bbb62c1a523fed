/// The page-size bitmap a driver hands io-pgtable (`cfg->pgsize_bitmap` before
/// `alloc_io_pgtable_ops`), as the `pgsizes=` config setting and `--pgsizes`
/// write it: a list of sizes (`4k,2m,1g` or `64K|512M|4T`) or one hex mask
/// (`0x40201000`).
///
/// The allocation restricts it to the granule (``Granule/pageSizes(oas:)``);
/// this type only reads what the driver offers. Every size must be one the Arm
/// LPAE format has with some granule, so that a typo is caught here rather
/// than silently dropped by the restriction.
public enum DriverPageSizes {
    /// Every page and block size of the Arm LPAE format: 4K, 2M, 1G (4K granule),
    /// 16K, 32M (16K), 64K, 512M, 4T (64K).
    public static let lpaeSizes: UInt64 = Granule.allCases.reduce(0) { $0 | $1.pageSizes(oas: 52) }

    /// What is wrong with a `pgsizes` value: a message, and where in the value
    /// (0-based, in characters) the offending item starts.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { message }
    }

    /// The bitmap `text` describes.
    public static func parse(_ text: String) -> Result<UInt64, ParseError> {
        let usage = "expected page sizes separated by , or | (e.g. 4k,2m,1g) or one hex mask (e.g. 0x40201000)"
        var items: [(text: Substring, offset: Int)] = []
        var start = text.startIndex
        var offset = 0, itemOffset = 0
        for index in text.indices {
            if text[index] == "," || text[index] == "|" {
                items.append((text[start..<index], itemOffset))
                start = text.index(after: index)
                itemOffset = offset + 1
            }
            offset += 1
        }
        items.append((text[start...], itemOffset))

        // One 0x item without a suffix is a mask; anything else is a list of sizes.
        if items.count == 1, let only = items.first, only.text.lowercased().hasPrefix("0x"),
           let last = only.text.last, last.isHexDigit {
            guard let mask = UInt64(only.text.dropFirst(2), radix: 16) else {
                return .failure(ParseError(message: "\"\(only.text)\" is not a hex mask (\(usage))", offset: 0))
            }
            guard mask != 0 else { return .failure(ParseError(message: "mask 0x0 offers no page size", offset: 0)) }
            let foreign = mask & ~lpaeSizes
            if foreign != 0 {
                let bit: UInt64 = 1 << UInt64(foreign.trailingZeroBitCount)
                return .failure(ParseError(message: "mask \(hex(mask)) has \(formatSize(bit)) (\(hex(bit))), "
                                           + "which is not a page or block size of the Arm LPAE format (\(lpaeSizeList))", offset: 0))
            }
            return .success(mask)
        }

        var bitmap: UInt64 = 0
        for item in items {
            guard !item.text.isEmpty else {
                return .failure(ParseError(message: "empty page size in \"\(text)\" (\(usage))", offset: item.offset))
            }
            guard let size = parseNumber(String(item.text)), item.text.first?.isNumber == true else {
                return .failure(ParseError(message: "\"\(item.text)\" is not a number (\(usage))", offset: item.offset))
            }
            guard size != 0, size & (size - 1) == 0 else {
                return .failure(ParseError(message: "page size \(item.text) (\(hex(size))) is not a power of two", offset: item.offset))
            }
            guard size & lpaeSizes != 0 else {
                return .failure(ParseError(message: "page size \(item.text) (\(hex(size))) is not a page or block size "
                                           + "of the Arm LPAE format (\(lpaeSizeList))", offset: item.offset))
            }
            bitmap |= size
        }
        return .success(bitmap)
    }

    /// The sizes of every granule, for messages: `4K, 2M, 1G with 4K; ...`.
    static var lpaeSizeList: String {
        Granule.allCases.map { g in
            sizeList(g.pageSizes(oas: 52), separator: ", ") + " with the \(g) granule"
        }.joined(separator: "; ")
    }
}

/// The sizes of a bitmap, smallest first, e.g. `4K|2M|1G`.
public func sizeList(_ bitmap: UInt64, separator: String = "|") -> String {
    (0..<64).filter { bitmap & (1 << UInt64($0)) != 0 }.map { formatSize(1 << UInt64($0)) }.joined(separator: separator)
}

/// Decimal or 0x hex with an optional K/M/G/T suffix, as in scripts.
public func parseNumber(_ text: String) -> UInt64? {
    var s = Substring(text.lowercased())
    var multiplier: UInt64 = 1
    if let last = s.last, let shift = ["k": 10, "m": 20, "g": 30, "t": 40][last] {
        multiplier = 1 << UInt64(shift)
        s = s.dropLast()
    }
    let value: UInt64?
    if s.hasPrefix("0x") { value = UInt64(s.dropFirst(2), radix: 16) } else { value = UInt64(s, radix: 10) }
    guard let v = value else { return nil }
    let (r, o) = v.multipliedReportingOverflow(by: multiplier)
    return o ? nil : r
}
