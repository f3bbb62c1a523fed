/// A parsed conformance log (`Tests/Fixtures/conformance/out/*.txt`, or pgstore's
/// own rendering of a run in the same layout).
struct ConformanceLog {
    struct Entry: Equatable, CustomStringConvertible {
        /// The call and its arguments, e.g. `map iova=0x0 paddr=0x80000000 pgsize=0x1000 pgcount=1 prot=rw`.
        var head: String
        /// Everything between `: ` and ` | `.
        var result: String
        var counts: [String: String]
        /// Indented lines, in order.
        var details: [String]
        var description: String { "\(head): \(result) | \(counts.sorted { $0.key < $1.key })" }
    }

    var config: [String: String] = [:]
    var entries: [Entry] = []
    /// Top-level lines that are not calls (output of `stale` or `dump` statements).
    var outputs: [String] = []
    var dump: [String] = []
    var staleAtEnd: Int?
    var stats: [String: String] = [:]

    static func keyValues(_ text: Substring) -> [String: String] {
        var out: [String: String] = [:]
        for field in text.split(separator: " ") {
            guard let eq = field.firstIndex(of: "=") else { continue }
            out[String(field[..<eq])] = String(field[field.index(after: eq)...])
        }
        return out
    }

    init(parsing text: String) {
        var inDump = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var line = Substring(raw)
            if let hash = line.range(of: "  # ") { line = line[..<hash.lowerBound] }
            if inDump {
                dump.append(String(line))
                if line == "END DUMP" { inDump = false }
                continue
            }
            if line.hasPrefix("CONFIG ") {
                config = Self.keyValues(line.dropFirst(7))
            } else if line.hasPrefix("DUMP ") {
                inDump = true
                dump.append(String(line))
            } else if line.hasPrefix("STALE_AT_END ") {
                staleAtEnd = Int(line.dropFirst(13))
            } else if line.hasPrefix("STATS ") {
                stats = Self.keyValues(line.dropFirst(6))
            } else if line.hasPrefix(" ") {
                let detail = line.drop(while: { $0 == " " })
                if !entries.isEmpty { entries[entries.count - 1].details.append(String(detail)) }
            } else if let bar = line.range(of: " | cmo=") {
                let left = line[..<bar.lowerBound]
                let colon = left.range(of: ": ")!
                entries.append(Entry(head: String(left[..<colon.lowerBound]),
                                     result: String(left[colon.upperBound...]),
                                     counts: Self.keyValues(line[line.index(bar.lowerBound, offsetBy: 3)...]),
                                     details: []))
            } else {
                outputs.append(String(line))
            }
        }
    }
}
