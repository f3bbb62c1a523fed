import PGEngine

/// Reads Linux ftrace text logs of `iommu:map` and `iommu:unmap` events
/// (README.md, "Recording a live system") into IOMMU-core calls.
///
/// Both line layouts are accepted: the kernel's `trace` / `trace_pipe` files
/// (`<comm>-<pid> [(TGID)] [CPU] FLAGS TIMESTAMP: map: IOMMU: ...`) and
/// `trace-cmd report` (the same, with the event name padded to 20 columns).
/// Both event formats are accepted: the current range form
/// (`iova=0x… - 0x… paddr=0x… size=N`, `iova=0x… - 0x… size=N unmapped_size=N`),
/// the pre-5.17 form without the `- end` part, and the out-of-tree variant with
/// a `dev=NAME` field before `iova=` (ignored).
///
/// Every line ends up in exactly one place: an event, `skippedLines` (blank,
/// `#` comments and headers, `cpus=N`, `version = …`, `CPU:N [N EVENTS DROPPED]`,
/// other text, and other trace events) or, in lenient mode, `warnings`.
///
/// The parser works over the UTF-8 bytes of the input and builds strings only
/// for timestamps (short enough to be stored inline) and error messages.

/// One `iommu:map` or `iommu:unmap` event as an IOMMU-core call.
public struct FtraceEvent: Sendable, Hashable {
    /// `iommu_map` (prot `rw`: the event does not record protection) or
    /// `iommu_unmap` (with the *requested* size, not `unmapped_size`).
    public var call: Call
    /// 1-based line of the event in the input.
    public var line: Int
    /// 1-based column (in characters) where the event's fields start (`iova=...`).
    public var column: Int
    /// The timestamp field as printed, e.g. `1234.567890`.
    public var timestamp: String

    public init(call: Call, line: Int, column: Int = 1, timestamp: String) {
        self.call = call
        self.line = line
        self.column = column
        self.timestamp = timestamp
    }
}

/// What ``FtraceParser/parse(_:file:lenient:)`` read from a log.
public struct FtraceLog: Sendable {
    /// The map and unmap events, in input order.
    public var events: [FtraceEvent]
    /// Lines that are not iommu events: blank lines, `#` headers and comments,
    /// `cpus=N`, `version = …`, `CPU:N [N EVENTS DROPPED]`, other text, and
    /// other trace events (also counted in ``otherEvents``).
    public var skippedLines: Int
    /// Lines that are trace events other than `iommu:map` / `iommu:unmap`.
    public var otherEvents: Int
    /// Malformed iommu lines that lenient mode skipped, one error each.
    public var warnings: [ScriptError]
    /// Lost-events markers (also counted in ``skippedLines``), in input order.
    public var gaps: [FtraceGap]

    public init(events: [FtraceEvent] = [], skippedLines: Int = 0, otherEvents: Int = 0, warnings: [ScriptError] = [],
                gaps: [FtraceGap] = []) {
        self.events = events
        self.skippedLines = skippedLines
        self.otherEvents = otherEvents
        self.warnings = warnings
        self.gaps = gaps
    }
}

/// Reads ftrace text logs of `iommu:map` / `iommu:unmap` events; see the file comment.
public enum FtraceParser {
    /// Parses one line of a log read as a stream (a pipe, `trace_pipe`, a
    /// growing file): what the line is, and the counts of all lines so far.
    public struct StreamParser: Sendable {
        public let file: String
        public let lenient: Bool
        /// Counts and warnings of the lines so far; its `events` and `gaps` stay empty (each is returned once).
        public private(set) var log = FtraceLog()

        public init(file: String, lenient: Bool) {
            self.file = file
            self.lenient = lenient
        }

        public enum Line: Sendable {
            case event(FtraceEvent)
            case gap(FtraceGap)
            /// Not an iommu event (blank, header, other events), or malformed and skipped (lenient).
            case skipped
        }

        /// Parses line `number` (1-based) of the stream.
        public mutating func parse(_ line: String, number: Int) throws(ScriptError) -> Line {
            var text = line
            let file = self.file, lenient = self.lenient, counts = log
            let result: Result<FtraceLog, ScriptError> = text.withUTF8 { bytes in
                var scanner = FtraceScanner(bytes: bytes, file: file, lenient: lenient)
                scanner.log = counts
                do throws(ScriptError) {
                    try scanner.line(0, bytes.count, number)
                } catch {
                    if !lenient { return .failure(error) }
                    scanner.log.warnings.append(error)
                }
                return .success(scanner.log)
            }
            var after = try result.get()
            defer {
                after.events.removeAll()
                after.gaps.removeAll()
                log = after
            }
            if let event = after.events.first { return .event(event) }
            if let gap = after.gaps.first { return .gap(gap) }
            return .skipped
        }
    }

    public typealias FtraceEvent = PGSources.FtraceEvent
    public typealias FtraceLog = PGSources.FtraceLog

    /// How many lines ``looksLikeFtrace(_:)`` examines.
    public static let probeLines = 200

    /// Parses a whole log. `file` names the input in error locations.
    ///
    /// A malformed `map`/`unmap` line (a field that does not parse or is out of
    /// order, a map of size 0, an end address that is not `iova + size`, or a
    /// line that mentions `IOMMU:` and map/unmap but is not in ftrace layout)
    /// is an error; with `lenient` it becomes a warning and the line is skipped.
    public static func parse(_ text: String, file: String, lenient: Bool) throws(ScriptError) -> FtraceLog {
        var text = text
        let result: Result<FtraceLog, ScriptError> = text.withUTF8 { bytes in
            var scanner = FtraceScanner(bytes: bytes, file: file, lenient: lenient)
            do throws(ScriptError) {
                return .success(try scanner.run())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Whether `text` looks like an ftrace log: one of its first ``probeLines``
    /// lines is an iommu map/unmap event line in either layout, or starts with
    /// `# tracer:` or `cpus=`.
    public static func looksLikeFtrace(_ text: Substring) -> Bool {
        if let answer = text.utf8.withContiguousStorageIfAvailable({ probe($0) }) {
            return answer
        }
        var copy = String(text)
        return copy.withUTF8 { probe($0) }
    }

    private static func probe(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var pos = FtraceBytes.bomLength(bytes)
        var lines = 0
        while pos < bytes.count && lines < probeLines {
            lines += 1
            let (start, end, next) = FtraceBytes.line(bytes, from: pos)
            pos = next
            if FtraceBytes.matches(bytes, "# tracer:", at: start, end: end)
                || FtraceBytes.matches(bytes, "cpus=", at: start, end: end) {
                return true
            }
            if case .iommu = FtraceLayout.split(bytes, start, end) { return true }
        }
        return false
    }
}

// MARK: - Bytes

private enum FtraceBytes {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let hash: UInt8 = 0x23
    static let lparen: UInt8 = 0x28
    static let rparen: UInt8 = 0x29
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let colon: UInt8 = 0x3A
    static let lbracket: UInt8 = 0x5B
    static let rbracket: UInt8 = 0x5D

    @inline(__always) static func isBlank(_ c: UInt8) -> Bool { c == space || c == tab }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- zero < 10 }

    /// 3 when the input starts with a UTF-8 byte-order mark.
    static func bomLength(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0
    }

    /// The line starting at `from`: its content (without `\n` or `\r\n`) and where the next starts.
    @inline(__always)
    static func line(_ b: UnsafeBufferPointer<UInt8>, from: Int) -> (start: Int, end: Int, next: Int) {
        var end = from
        let n = b.count
        while end < n && b[end] != newline { end += 1 }
        let next = end + 1
        if end > from && b[end - 1] == cr { end -= 1 }
        return (from, end, next)
    }

    @inline(__always)
    static func skipBlanks(_ b: UnsafeBufferPointer<UInt8>, _ p: inout Int, _ end: Int) {
        while p < end && isBlank(b[p]) { p += 1 }
    }

    /// Whether the bytes at `p` (before `end`) spell `literal`.
    @inline(__always)
    static func matches(_ b: UnsafeBufferPointer<UInt8>, _ literal: StaticString, at p: Int, end: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard end - p >= count else { return false }
        let s = literal.utf8Start
        for k in 0..<count where b[p + k] != s[k] { return false }
        return true
    }

    /// Whether `literal` occurs anywhere in `start..<end`.
    static func contains(_ b: UnsafeBufferPointer<UInt8>, _ literal: StaticString, _ start: Int, _ end: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        var p = start
        while end - p >= count {
            if matches(b, literal, at: p, end: end) { return true }
            p += 1
        }
        return false
    }

    static func string(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
    }
}

// MARK: - Line layout

/// Splits a line into the ftrace layout, up to the event's text.
private enum FtraceLayout {
    enum Split {
        /// Blank, `#` header or comment, or text that is not an event line.
        case notEvent
        /// A trace event other than iommu map/unmap.
        case otherEvent
        /// An iommu map/unmap event; `fields` is just past `IOMMU:`.
        case iommu(isMap: Bool, timestamp: Range<Int>, fields: Int)
        /// Mentions `IOMMU:` and map/unmap but is not in ftrace layout; `at` is its first non-blank byte.
        case unsplittable(at: Int)
        /// A map/unmap event cut off before its `IOMMU:` text, at `at`.
        case truncated(isMap: Bool, at: Int)
    }

    static func split(_ b: UnsafeBufferPointer<UInt8>, _ lineStart: Int, _ end: Int) -> Split {
        typealias B = FtraceBytes
        var first = lineStart
        B.skipBlanks(b, &first, end)
        if first == end || b[first] == B.hash { return .notEvent }

        // `<comm>-<pid> [(TGID)] [CPU]`
        guard let cpuEnd = cpuFieldEnd(b, first, end) else { return notInLayout(b, first, end) }

        // `FLAGS TIMESTAMP:` with FLAGS optional.
        var colon = cpuEnd
        while colon < end && b[colon] != B.colon { colon += 1 }
        guard colon < end else { return notInLayout(b, first, end) }
        var tsEnd = colon
        while tsEnd > cpuEnd && B.isBlank(b[tsEnd - 1]) { tsEnd -= 1 }
        var tsStart = tsEnd
        while tsStart > cpuEnd && !B.isBlank(b[tsStart - 1]) { tsStart -= 1 }
        guard isTimestamp(b, tsStart, tsEnd) else { return notInLayout(b, first, end) }
        var q = cpuEnd
        B.skipBlanks(b, &q, tsStart)
        if q < tsStart {
            while q < tsStart && !B.isBlank(b[q]) { q += 1 }
            B.skipBlanks(b, &q, tsStart)
            guard q == tsStart else { return notInLayout(b, first, end) }
        }

        // `EVENT:` then, for trace-cmd, padding.
        var nameStart = colon + 1
        B.skipBlanks(b, &nameStart, end)
        var nameEnd = nameStart
        while nameEnd < end && b[nameEnd] != B.colon { nameEnd += 1 }
        var trimmed = nameEnd
        while trimmed > nameStart && B.isBlank(b[trimmed - 1]) { trimmed -= 1 }
        let isMap: Bool
        if B.matches(b, "map", at: nameStart, end: trimmed) && trimmed - nameStart == 3 {
            isMap = true
        } else if B.matches(b, "unmap", at: nameStart, end: trimmed) && trimmed - nameStart == 5 {
            isMap = false
        } else {
            return .otherEvent
        }
        guard nameEnd < end else { return .truncated(isMap: isMap, at: end) }
        var text = nameEnd + 1
        B.skipBlanks(b, &text, end)
        if B.matches(b, "IOMMU:", at: text, end: end) {
            return .iommu(isMap: isMap, timestamp: tsStart..<tsEnd, fields: text + 6)
        }
        // Nothing, or a prefix of `IOMMU:`: cut off. Anything else: another system's `map` event.
        if end - text < 6 {
            var k = text
            let literal: StaticString = "IOMMU:"
            while k < end && b[k] == literal.utf8Start[k - text] { k += 1 }
            if k == end { return .truncated(isMap: isMap, at: text) }
        }
        return .otherEvent
    }

    /// A line that is not in ftrace layout: an error if it looks like an iommu map/unmap event.
    private static func notInLayout(_ b: UnsafeBufferPointer<UInt8>, _ first: Int, _ end: Int) -> Split {
        if FtraceBytes.contains(b, "IOMMU:", first, end) && FtraceBytes.contains(b, "map", first, end) {
            return .unsplittable(at: first)
        }
        return .notEvent
    }

    /// Just past the `]` of the first `[CPU]` field preceded by `-PID` (and an optional `(TGID)`).
    private static func cpuFieldEnd(_ b: UnsafeBufferPointer<UInt8>, _ first: Int, _ end: Int) -> Int? {
        typealias B = FtraceBytes
        var j = first
        while j < end {
            if b[j] == B.lbracket, let after = cpuField(b, at: j, first, end) { return after }
            j += 1
        }
        return nil
    }

    private static func cpuField(_ b: UnsafeBufferPointer<UInt8>, at open: Int, _ first: Int, _ end: Int) -> Int? {
        typealias B = FtraceBytes
        var k = open + 1
        while k < end && B.isDigit(b[k]) { k += 1 }
        guard k > open + 1, k < end, b[k] == B.rbracket else { return nil }
        var m = open - 1
        while m >= first && B.isBlank(b[m]) { m -= 1 }
        if m >= first && b[m] == B.rparen {
            m -= 1
            while m >= first && (B.isDigit(b[m]) || B.isBlank(b[m]) || b[m] == B.minus) { m -= 1 }
            guard m >= first && b[m] == B.lparen else { return nil }
            m -= 1
            while m >= first && B.isBlank(b[m]) { m -= 1 }
        }
        let pidLast = m
        while m >= first && B.isDigit(b[m]) { m -= 1 }
        guard m < pidLast, m >= first, b[m] == B.minus else { return nil }
        return k + 1
    }

    /// `SECONDS.MICROS` or a raw counter: digits with at most one dot.
    private static func isTimestamp(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        guard start < end else { return false }
        var digits = 0
        var dots = 0
        for k in start..<end {
            let c = b[k]
            if FtraceBytes.isDigit(c) {
                digits += 1
            } else if c == FtraceBytes.dot {
                dots += 1
            } else {
                return false
            }
        }
        return digits > 0 && dots <= 1
    }
}

// MARK: - The scanner

private struct FtraceScanner {
    typealias B = FtraceBytes

    let bytes: UnsafeBufferPointer<UInt8>
    let file: String
    let lenient: Bool
    var log = FtraceLog()

    init(bytes: UnsafeBufferPointer<UInt8>, file: String, lenient: Bool) {
        self.bytes = bytes
        self.file = file
        self.lenient = lenient
    }

    mutating func run() throws(ScriptError) -> FtraceLog {
        var pos = B.bomLength(bytes)
        var number = 0
        while pos < bytes.count {
            number += 1
            let (start, end, next) = B.line(bytes, from: pos)
            pos = next
            do throws(ScriptError) {
                try line(start, end, number)
            } catch {
                if !lenient { throw error }
                log.warnings.append(error)
            }
        }
        return log
    }

    mutating func line(_ start: Int, _ end: Int, _ number: Int) throws(ScriptError) {
        switch FtraceLayout.split(bytes, start, end) {
        case .notEvent:
            log.skippedLines += 1
            var first = start
            B.skipBlanks(bytes, &first, end)
            if B.matches(bytes, "CPU:", at: first, end: end),
               var gap = FtraceGap.parse(Substring(B.string(bytes, first, end)), line: number) {
                gap.beforeEvent = log.events.count
                log.gaps.append(gap)
            }
        case .otherEvent:
            log.skippedLines += 1
            log.otherEvents += 1
        case .unsplittable(let at):
            throw error(number, start, at,
                        "line mentions IOMMU: and map/unmap but is not in ftrace layout "
                            + "(`comm-pid [cpu] flags timestamp: event: ...`)")
        case .truncated(let isMap, let at):
            throw error(number, start, at, "\(isMap ? "map" : "unmap"): line ends before `IOMMU:`")
        case .iommu(let isMap, let timestamp, let fields):
            let call = try self.fields(isMap: isMap, from: fields, start, end, number)
            var column = 1
            for i in start..<fields { column += bytes[i] & 0xC0 == 0x80 ? 0 : 1 }
            log.events.append(FtraceEvent(call: call, line: number, column: column,
                                          timestamp: B.string(bytes, timestamp.lowerBound, timestamp.upperBound)))
        }
    }

    /// Parses `[dev=NAME] iova=0x… [- 0x…] paddr=0x… size=N` (map) or
    /// `[dev=NAME] iova=0x… [- 0x…] size=N unmapped_size=N` (unmap).
    private func fields(isMap: Bool, from: Int, _ lineStart: Int, _ end: Int, _ number: Int) throws(ScriptError) -> Call {
        let event = isMap ? "map" : "unmap"
        var p = from
        B.skipBlanks(bytes, &p, end)
        if B.matches(bytes, "dev=", at: p, end: end) {
            while p < end && !B.isBlank(bytes[p]) { p += 1 }
            B.skipBlanks(bytes, &p, end)
        }

        try expect("iova=", &p, end, event, lineStart, number)
        let iova = try hex(&p, end, "iova", event, lineStart, number)
        B.skipBlanks(bytes, &p, end)

        var last: UInt64?
        var lastAt = 0
        if p < end && bytes[p] == B.minus {
            p += 1
            B.skipBlanks(bytes, &p, end)
            lastAt = p
            last = try hex(&p, end, "end", event, lineStart, number)
            B.skipBlanks(bytes, &p, end)
        }

        var paddr: UInt64 = 0
        if isMap {
            try expect("paddr=", &p, end, event, lineStart, number)
            paddr = try hex(&p, end, "paddr", event, lineStart, number)
            B.skipBlanks(bytes, &p, end)
        }

        let sizeAt = p
        try expect("size=", &p, end, event, lineStart, number)
        let size = try decimal(&p, end, "size", event, lineStart, number)
        if !isMap {
            B.skipBlanks(bytes, &p, end)
            try expect("unmapped_size=", &p, end, event, lineStart, number)
            _ = try decimal(&p, end, "unmapped_size", event, lineStart, number)
        }
        B.skipBlanks(bytes, &p, end)
        guard p == end else {
            throw error(number, lineStart, p, "\(event): unexpected \(found(p, end)) after the last field")
        }

        if isMap && size == 0 {
            throw error(number, lineStart, sizeAt, "map with size 0 (iova \(Self.hex16(iova)))")
        }
        if let last {
            if last < iova {
                throw error(number, lineStart, lastAt,
                            "end \(Self.hex16(last)) is before start \(Self.hex16(iova))")
            }
            let expected = iova &+ size
            if last != expected {
                throw error(number, lineStart, lastAt,
                            "end \(Self.hex16(last)) is not iova + size \(Self.hex16(expected))")
            }
        }
        if isMap {
            return Call(kind: .iommuMap, iova: iova, paddr: paddr, size: size, prot: [.read, .write])
        }
        return Call(kind: .iommuUnmap, iova: iova, size: size)
    }

    // MARK: Fields

    /// Consumes `key` (such as `size=`) at `p`, or reports what is there instead.
    private func expect(_ key: StaticString, _ p: inout Int, _ end: Int, _ event: String,
                        _ lineStart: Int, _ number: Int) throws(ScriptError) {
        guard B.matches(bytes, key, at: p, end: end) else {
            throw error(number, lineStart, p, "\(event): expected `\(key)` but found \(found(p, end))")
        }
        p += key.utf8CodeUnitCount
    }

    /// `0x` and hex digits, ending at a blank or the line end.
    private func hex(_ p: inout Int, _ end: Int, _ what: String, _ event: String,
                     _ lineStart: Int, _ number: Int) throws(ScriptError) -> UInt64 {
        let start = p
        var k = p
        var value: UInt64 = 0
        var digits = 0
        var overflow = false
        if end - k >= 2 && bytes[k] == B.zero && (bytes[k + 1] | 0x20) == 0x78 {
            k += 2
            while k < end {
                let c = bytes[k]
                let d: UInt64
                if B.isDigit(c) {
                    d = UInt64(c &- B.zero)
                } else if (c | 0x20) &- 0x61 < 6 {
                    d = UInt64((c | 0x20) &- 0x61 + 10)
                } else {
                    break
                }
                if value > UInt64.max >> 4 { overflow = true }
                value = value << 4 | d
                digits += 1
                k += 1
            }
        }
        guard digits > 0, k == end || B.isBlank(bytes[k]) else {
            throw error(number, lineStart, start, "\(event): \(what) is not a 0x hex number: \(found(start, end))")
        }
        guard !overflow else {
            throw error(number, lineStart, start, "\(event): \(what) does not fit in 64 bits: \(found(start, end))")
        }
        p = k
        return value
    }

    /// Decimal digits, ending at a blank or the line end.
    private func decimal(_ p: inout Int, _ end: Int, _ what: String, _ event: String,
                         _ lineStart: Int, _ number: Int) throws(ScriptError) -> UInt64 {
        let start = p
        var k = p
        var value: UInt64 = 0
        var overflow = false
        while k < end && B.isDigit(bytes[k]) {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(bytes[k] &- B.zero))
            overflow = overflow || o1 || o2
            value = sum
            k += 1
        }
        guard k > start, k == end || B.isBlank(bytes[k]) else {
            throw error(number, lineStart, start, "\(event): \(what) is not a decimal number: \(found(start, end))")
        }
        guard !overflow else {
            throw error(number, lineStart, start, "\(event): \(what) does not fit in 64 bits: \(found(start, end))")
        }
        p = k
        return value
    }

    // MARK: Errors

    /// The word at `p`, quoted and clipped, or "the end of the line".
    private func found(_ p: Int, _ end: Int) -> String {
        guard p < end else { return "the end of the line" }
        var k = p
        while k < end && !B.isBlank(bytes[k]) && k - p < 32 { k += 1 }
        return "`\(B.string(bytes, p, k))`"
    }

    /// An error at byte `at` of the line starting at `lineStart`; the column counts characters.
    private func error(_ number: Int, _ lineStart: Int, _ at: Int, _ message: String) -> ScriptError {
        var ascii = true
        for k in lineStart..<at where bytes[k] >= 0x80 { ascii = false; break }
        let column = ascii ? at - lineStart + 1 : B.string(bytes, lineStart, at).count + 1
        return ScriptError(SourceLocation(file: file, line: number, column: column), message)
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
