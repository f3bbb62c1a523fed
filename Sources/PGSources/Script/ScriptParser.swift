import PGEngine

/// Reads `.pgs` workload scripts (README.md, "The script format") into a ``Script``.
///
/// One statement a line; `#` starts a comment; fields are separated by spaces
/// or tabs; numbers are decimal or `0x` hex with an optional binary K/M/G/T
/// suffix. The parser stops at the first problem and reports it as a
/// ``ScriptError`` whose location names the file, the 1-based line and the
/// 1-based column (in characters) of the offending field.
///
/// It works over the UTF-8 bytes of the input and builds strings only for
/// names and error messages, so a million-line script parses in a fraction of
/// a second.
public enum ScriptParser {
    /// The longest line accepted, in characters.
    public static let maxLineLength = 4096

    /// Every keyword a statement may start with, in the order error messages list them.
    public static let keywords = [
        "map", "unmap", "iova_to_phys", "sync_map", "iommu_map", "map_sg", "iommu_unmap",
        "tlb_sync", "access", "snapshot", "dump", "stale", "config",
    ]

    /// The keys a `config` line may set.
    public static let configKeys = ["stage", "granule", "ias", "oas", "coherent", "line", "strategy", "nowarn", "ns", "pgsizes", "profile"]

    /// Parses a whole script. `file` names the input in error locations.
    public static func parse(_ text: String, file: String) throws(ScriptError) -> Script {
        var text = text
        let result: Result<Script, ScriptError> = text.withUTF8 { bytes in
            var parser = LineParser(bytes: bytes, file: file)
            do throws(ScriptError) {
                return .success(try parser.run())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

// MARK: - The line parser

/// A field of the current line: a byte range of the input.
private struct Field {
    var start: Int
    var end: Int
    var isEmpty: Bool { start == end }
}

private enum Keyword {
    case map, unmap, iovaToPhys, syncMap, iommuMap, mapSG, iommuUnmap, tlbSync, access, snapshot, dump, stale, config
}

private enum Byte {
    static let nul: UInt8 = 0x00
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let hash: UInt8 = 0x23
    static let plus: UInt8 = 0x2B
    static let minus: UInt8 = 0x2D
    static let equals: UInt8 = 0x3D
}

private struct LineParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let file: String

    var script = Script()
    /// Whether a statement other than `config` has been seen.
    var sawStatement = false

    var lineNumber = 0
    var lineStart = 0
    /// End of the current line, past any stripped `\r`.
    var lineEnd = 0
    /// Fields of the current line (reused from line to line).
    var fields: [Field] = []

    init(bytes: UnsafeBufferPointer<UInt8>, file: String) {
        self.bytes = bytes
        self.file = file
        fields.reserveCapacity(16)
    }

    mutating func run() throws(ScriptError) -> Script {
        let count = bytes.count
        var pos = 0
        while true {
            // Find the end of the line, noting bytes that may start a NUL or U+FFFD.
            var end = pos
            var suspicious = false
            while end < count {
                let b = bytes[end]
                if b == Byte.newline { break }
                if b == Byte.nul || b == 0xEF { suspicious = true }
                end += 1
            }
            lineNumber += 1
            lineStart = pos
            lineEnd = end
            if lineEnd > lineStart && bytes[lineEnd - 1] == Byte.cr { lineEnd -= 1 }
            try parseLine(suspicious: suspicious)
            if end >= count { break }
            pos = end + 1
        }
        return script
    }

    // MARK: Lines

    mutating func parseLine(suspicious: Bool) throws(ScriptError) {
        try checkLength()
        if suspicious { try checkBadCharacters() }
        tokenise()
        guard let first = fields.first else { return }

        guard let keyword = keyword(first) else {
            throw error(at: first.start, "unknown keyword \"\(text(first))\" (expected one of: \(ScriptParser.keywords.joined(separator: ", ")))")
        }
        if keyword == .config {
            try parseConfig()
            return
        }
        sawStatement = true
        let command = try parseCommand(keyword)
        script.statements.append(ScriptStatement(command: command, location: location(first.start)))
    }

    /// Rejects lines longer than the limit before looking at their contents.
    func checkLength() throws(ScriptError) {
        let byteCount = lineEnd - lineStart
        // A line of at most the limit in bytes has at most that many characters.
        guard byteCount > ScriptParser.maxLineLength else { return }
        var ascii = true
        for i in lineStart..<lineEnd where bytes[i] >= 0x80 {
            ascii = false
            break
        }
        let characters = ascii ? byteCount : lineString().count
        if characters > ScriptParser.maxLineLength {
            throw ScriptError(SourceLocation(file: file, line: lineNumber, column: ScriptParser.maxLineLength + 1),
                              "line is \(characters) characters long (limit \(ScriptParser.maxLineLength))")
        }
    }

    /// Rejects NUL bytes and U+FFFD (what decoding invalid UTF-8 leaves), wherever they are.
    func checkBadCharacters() throws(ScriptError) {
        var i = lineStart
        while i < lineEnd {
            let b = bytes[i]
            if b == Byte.nul { throw error(at: i, "line contains a NUL byte") }
            if b == 0xEF && i + 2 < lineEnd && bytes[i + 1] == 0xBF && bytes[i + 2] == 0xBD {
                throw error(at: i, "invalid UTF-8 in input")
            }
            i += 1
        }
    }

    mutating func tokenise() {
        fields.removeAll(keepingCapacity: true)
        var i = lineStart
        while i < lineEnd {
            let b = bytes[i]
            if b == Byte.space || b == Byte.tab {
                i += 1
                continue
            }
            if b == Byte.hash { break }
            let start = i
            while i < lineEnd {
                let c = bytes[i]
                if c == Byte.space || c == Byte.tab || c == Byte.hash { break }
                i += 1
            }
            fields.append(Field(start: start, end: i))
        }
    }

    func keyword(_ f: Field) -> Keyword? {
        switch f.end - f.start {
        case 3: if equals(f, "map") { return .map }
        case 4:
            if equals(f, "dump") { return .dump }
        case 5:
            if equals(f, "unmap") { return .unmap }
            if equals(f, "stale") { return .stale }
        case 6:
            if equals(f, "map_sg") { return .mapSG }
            if equals(f, "access") { return .access }
            if equals(f, "config") { return .config }
        case 8:
            if equals(f, "sync_map") { return .syncMap }
            if equals(f, "tlb_sync") { return .tlbSync }
            if equals(f, "snapshot") { return .snapshot }
        case 9: if equals(f, "iommu_map") { return .iommuMap }
        case 11: if equals(f, "iommu_unmap") { return .iommuUnmap }
        case 12: if equals(f, "iova_to_phys") { return .iovaToPhys }
        default: break
        }
        return nil
    }

    // MARK: Commands

    func parseCommand(_ keyword: Keyword) throws(ScriptError) -> ScriptCommand {
        switch keyword {
        case .map:
            let usage = "map IOVA PADDR PGSIZE PGCOUNT PROT"
            let iova = try number(argument(1, "IOVA", usage), "IOVA")
            let paddr = try number(argument(2, "PADDR", usage), "PADDR")
            let pgsize = try number(argument(3, "PGSIZE", usage), "PGSIZE")
            let pgcount = try number(argument(4, "PGCOUNT", usage), "PGCOUNT")
            let prot = try prot(argument(5, "PROT", usage))
            try noMoreArguments(after: 5)
            return .call(.mapPages(iova: iova, paddr: paddr, pgsize: pgsize, pgcount: pgcount, prot: prot))

        case .unmap:
            let usage = "unmap IOVA PGSIZE PGCOUNT"
            let iova = try number(argument(1, "IOVA", usage), "IOVA")
            let pgsize = try number(argument(2, "PGSIZE", usage), "PGSIZE")
            let pgcount = try number(argument(3, "PGCOUNT", usage), "PGCOUNT")
            try noMoreArguments(after: 3)
            return .call(.unmapPages(iova: iova, pgsize: pgsize, pgcount: pgcount))

        case .iovaToPhys:
            let iova = try number(argument(1, "IOVA", "iova_to_phys IOVA"), "IOVA")
            try noMoreArguments(after: 1)
            return .call(Call(kind: .iovaToPhys, iova: iova))

        case .syncMap:
            let usage = "sync_map IOVA SIZE"
            let iova = try number(argument(1, "IOVA", usage), "IOVA")
            let size = try number(argument(2, "SIZE", usage), "SIZE")
            try noMoreArguments(after: 2)
            return .call(Call(kind: .iotlbSyncMap, iova: iova, size: size))

        case .iommuMap:
            let usage = "iommu_map IOVA PADDR SIZE PROT"
            let iova = try number(argument(1, "IOVA", usage), "IOVA")
            let paddr = try number(argument(2, "PADDR", usage), "PADDR")
            let size = try number(argument(3, "SIZE", usage), "SIZE")
            let prot = try prot(argument(4, "PROT", usage))
            try noMoreArguments(after: 4)
            return .call(Call(kind: .iommuMap, iova: iova, paddr: paddr, size: size, prot: prot))

        case .mapSG:
            let usage = "map_sg IOVA PROT PADDR+LEN [PADDR+LEN ...]"
            let iova = try number(argument(1, "IOVA", usage), "IOVA")
            let prot = try prot(argument(2, "PROT", usage))
            _ = try argument(3, "PADDR+LEN", usage)
            var segments: [Segment] = []
            segments.reserveCapacity(fields.count - 3)
            for f in fields[3...] { segments.append(try segment(f)) }
            return .call(Call(kind: .iommuMapSG, iova: iova, prot: prot, segments: segments))

        case .iommuUnmap:
            let usage = "iommu_unmap IOVA SIZE"
            let iova = try number(argument(1, "IOVA", usage), "IOVA")
            let size = try number(argument(2, "SIZE", usage), "SIZE")
            try noMoreArguments(after: 2)
            return .call(Call(kind: .iommuUnmap, iova: iova, size: size))

        case .tlbSync:
            try noMoreArguments(after: 0)
            return .call(Call(kind: .iotlbSync))

        case .access:
            let usage = "access IOVA MODE"
            let iova = try number(argument(1, "IOVA", usage), "IOVA")
            let mode = try accessMode(argument(2, "MODE", usage))
            try noMoreArguments(after: 2)
            return .call(Call(kind: .access, iova: iova, prot: mode))

        case .snapshot:
            let name = try snapshotName(argument(1, "NAME", "snapshot NAME"))
            try noMoreArguments(after: 1)
            return .snapshot(name)

        case .dump:
            try noMoreArguments(after: 0)
            return .dump

        case .stale:
            try noMoreArguments(after: 0)
            return .stale

        case .config:
            preconditionFailure("config is handled by parseConfig")
        }
    }

    /// Field `index` (the keyword is field 0), or a "missing" error just past the line's last field.
    func argument(_ index: Int, _ name: String, _ usage: String) throws(ScriptError) -> Field {
        if index < fields.count { return fields[index] }
        throw error(at: fields[fields.count - 1].end,
                    "\(text(fields[0])): missing \(name) (usage: \(usage))")
    }

    func noMoreArguments(after index: Int) throws(ScriptError) {
        guard index + 1 < fields.count else { return }
        let extra = fields[index + 1]
        throw error(at: extra.start, "\(text(fields[0])): unexpected argument \"\(text(extra))\"")
    }

    // MARK: Values

    /// A decimal or `0x` hex number with an optional K/M/G/T (binary) suffix.
    func number(_ f: Field, _ name: String) throws(ScriptError) -> UInt64 {
        var i = f.start
        var end = f.end
        if i < end && bytes[i] == Byte.minus {
            throw error(at: f.start, "expected a number for \(name), found \"\(text(f))\" (negative numbers are not allowed)")
        }
        var shift: UInt64 = 0
        if end > i {
            switch bytes[end - 1] | 0x20 {
            case UInt8(ascii: "k"): shift = 10
            case UInt8(ascii: "m"): shift = 20
            case UInt8(ascii: "g"): shift = 30
            case UInt8(ascii: "t"): shift = 40
            default: break
            }
            if shift != 0 { end -= 1 }
        }
        var radix: UInt64 = 10
        if end - i >= 2 && bytes[i] == UInt8(ascii: "0") && bytes[i + 1] | 0x20 == UInt8(ascii: "x") {
            radix = 16
            i += 2
        }
        var value: UInt64 = 0
        var overflow = false
        var valid = i < end
        while i < end {
            let b = bytes[i]
            let digit: UInt64
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                digit = UInt64(b &- UInt8(ascii: "0"))
            } else if radix == 16, case let l = b | 0x20, l >= UInt8(ascii: "a") && l <= UInt8(ascii: "f") {
                digit = UInt64(l &- UInt8(ascii: "a") &+ 10)
            } else {
                valid = false
                break
            }
            if !overflow {
                let (m, o1) = value.multipliedReportingOverflow(by: radix)
                let (s, o2) = m.addingReportingOverflow(digit)
                if o1 || o2 { overflow = true } else { value = s }
            }
            i += 1
        }
        guard valid else {
            throw error(at: f.start, "expected a number for \(name), found \"\(text(f))\"")
        }
        if !overflow && shift != 0 {
            if value > UInt64.max >> shift { overflow = true } else { value <<= shift }
        }
        if overflow {
            throw error(at: f.start, "number \(text(f)) overflows 64 bits (\(name))")
        }
        return value
    }

    func prot(_ f: Field) throws(ScriptError) -> Prot {
        switch Prot.parse(Substring(text(f))) {
        case .success(let prot):
            return prot
        case .failure(let bad):
            throw ScriptError(SourceLocation(file: file, line: lineNumber, column: column(f.start) + bad.offset),
                              "unknown PROT letter '\(bad.letter)' (expected letters from rwcxmp)")
        }
    }

    /// `PADDR+LEN` of `map_sg`.
    func segment(_ f: Field) throws(ScriptError) -> Segment {
        var plus = -1
        var plusCount = 0
        for i in f.start..<f.end where bytes[i] == Byte.plus {
            if plus < 0 { plus = i }
            plusCount += 1
        }
        guard plusCount == 1, plus > f.start, plus + 1 < f.end else {
            throw error(at: f.start, "malformed segment \"\(text(f))\" (expected PADDR+LEN, e.g. 0x80000000+4K)")
        }
        let paddr = try number(Field(start: f.start, end: plus), "PADDR")
        let length = try number(Field(start: plus + 1, end: f.end), "LEN")
        return Segment(paddr: paddr, length: length)
    }

    /// `r` or `w`, optionally followed by `p`.
    func accessMode(_ f: Field) throws(ScriptError) -> Prot {
        let length = f.end - f.start
        var mode: Prot = []
        if length == 1 || length == 2 {
            switch bytes[f.start] {
            case UInt8(ascii: "r"): mode = .read
            case UInt8(ascii: "w"): mode = .write
            default: break
            }
            if length == 2 {
                if bytes[f.start + 1] == UInt8(ascii: "p") { mode.insert(.priv) } else { mode = [] }
            }
        }
        guard !mode.isEmpty else {
            throw error(at: f.start, "bad access mode \"\(text(f))\" (expected r, w, rp or wp)")
        }
        return mode
    }

    func snapshotName(_ f: Field) throws(ScriptError) -> String {
        for i in f.start..<f.end {
            let b = bytes[i]
            let ok = (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
            if !ok {
                throw error(at: f.start, "bad snapshot name \"\(text(f))\" (use letters, digits, _ - . :)")
            }
        }
        return text(f)
    }

    // MARK: Config

    mutating func parseConfig() throws(ScriptError) {
        let keywordField = fields[0]
        if let first = script.configLocation {
            throw error(at: keywordField.start, "duplicate config (first at \(first.file):\(first.line))")
        }
        if sawStatement {
            throw error(at: keywordField.start, "config must come before the first call")
        }
        var config = ScriptConfig()
        var seen: [String] = []
        for f in fields.dropFirst() {
            var eq = -1
            for i in f.start..<f.end where bytes[i] == Byte.equals {
                eq = i
                break
            }
            guard eq > f.start else {
                throw error(at: f.start, "malformed config setting \"\(text(f))\" (expected KEY=VALUE)")
            }
            let key = text(Field(start: f.start, end: eq))
            let valueField = Field(start: eq + 1, end: f.end)
            let value = text(valueField)
            guard ScriptParser.configKeys.contains(key) else {
                throw error(at: f.start, "unknown config key \"\(key)\" (expected one of: \(ScriptParser.configKeys.joined(separator: ", ")))")
            }
            if seen.contains(key) {
                throw error(at: f.start, "duplicate config key \"\(key)\"")
            }
            seen.append(key)
            if let field = ConfigField(rawValue: key) { script.configKeyLocations[field] = location(f.start) }

            func bad(_ expected: String) -> ScriptError {
                error(at: f.start, "bad value \"\(value)\" for \(key) (expected \(expected))")
            }
            func integer() throws(ScriptError) -> Int {
                let n: UInt64
                do throws(ScriptError) {
                    n = try number(valueField, key)
                } catch {
                    throw bad("a number")
                }
                guard n <= UInt64(Int.max) else { throw bad("a smaller number") }
                return Int(n)
            }
            func boolean() throws(ScriptError) -> Bool {
                switch value.lowercased() {
                case "yes", "true", "1": return true
                case "no", "false", "0": return false
                default: throw bad("yes, no, true, false, 1 or 0")
                }
            }

            switch key {
            case "stage":
                switch value {
                case "1": config.stage = .one
                case "2": config.stage = .two
                default: throw bad("1 or 2")
                }
            case "granule":
                guard let g = Granule(parsing: value) else { throw bad("4k, 16k or 64k") }
                config.granule = g
            case "ias": config.ias = try integer()
            case "oas": config.oas = try integer()
            case "coherent": config.coherent = try boolean()
            case "line": config.lineSize = try integer()
            case "strategy":
                guard let s = Strategy(parsing: value) else {
                    throw bad("one of: \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                config.strategy = s
            case "nowarn": config.noWarn = try boolean()
            case "ns": config.nonSecure = try boolean()
            case "pgsizes":
                switch DriverPageSizes.parse(value) {
                case .success(let bitmap): config.pgsizes = bitmap
                case .failure(let e):
                    throw ScriptError(SourceLocation(file: file, line: lineNumber, column: column(valueField.start) + e.offset),
                                      "pgsizes: \(e.message)")
                }
            case "profile":
                guard let p = KernelProfile(parsing: value) else { throw bad("mainline or 6.12") }
                config.profile = p
            default: preconditionFailure("key list and switch disagree")
            }
        }
        script.config = config
        script.configLocation = location(keywordField.start)
    }

    // MARK: Helpers

    func equals(_ f: Field, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard f.end - f.start == n else { return false }
        let p = s.utf8Start
        for k in 0..<n where bytes[f.start + k] != p[k] { return false }
        return true
    }

    func text(_ f: Field) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[f.start..<f.end]), as: UTF8.self)
    }

    func lineString() -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd]), as: UTF8.self)
    }

    /// The 1-based column, in characters, of the character at byte `offset` of the current line
    /// (or just past the line's end).
    func column(_ offset: Int) -> Int {
        var ascii = true
        var i = lineStart
        while i < offset {
            if bytes[i] >= 0x80 {
                ascii = false
                break
            }
            i += 1
        }
        if ascii && (offset >= lineEnd || bytes[offset] < 0x80) { return offset - lineStart + 1 }
        let line = lineString()
        let target = offset - lineStart
        var col = 1
        var index = line.startIndex
        while index < line.endIndex {
            let next = line.index(after: index)
            if line.utf8.distance(from: line.startIndex, to: next) > target { return col }
            col += 1
            index = next
        }
        return col
    }

    func location(_ offset: Int) -> SourceLocation {
        SourceLocation(file: file, line: lineNumber, column: column(offset))
    }

    func error(at offset: Int, _ message: String) -> ScriptError {
        ScriptError(location(offset), message)
    }
}

// MARK: - Streams

extension ScriptParser {
    /// Parses a script one line at a time, as a stream delivers it (a pipe,
    /// a growing file). The rules are those of a whole script: the `config`
    /// line comes once, before the first statement.
    public struct StreamParser: Sendable {
        public let file: String
        /// The config line so far (its statements are returned, not kept).
        public private(set) var script = Script()
        /// Whether a statement other than `config` has been seen.
        public private(set) var sawStatement = false
        /// Lines parsed so far.
        public private(set) var lineNumber = 0

        public init(file: String) { self.file = file }

        /// Parses the next line (without its newline): the statement it holds, if any.
        public mutating func parse(_ line: String) throws(ScriptError) -> ScriptStatement? {
            var text = line
            let file = self.file, before = script, saw = sawStatement, number = lineNumber
            let result: Result<(Script, Bool), ScriptError> = text.withUTF8 { bytes in
                var parser = LineParser(bytes: bytes, file: file)
                parser.script = before
                parser.sawStatement = saw
                parser.lineNumber = number
                do throws(ScriptError) {
                    let after = try parser.run()
                    return .success((after, parser.sawStatement))
                } catch {
                    return .failure(error)
                }
            }
            lineNumber += 1
            var (after, sawNow) = try result.get()
            let statement = after.statements.last
            after.statements.removeAll()
            script = after
            sawStatement = sawNow
            return statement
        }
    }
}
