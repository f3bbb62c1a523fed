import Foundation
import Testing

/// The report's heatmap classes and legend, ticks, 0/0 ratios and workload groups, through the binary.
@Suite("pgstore report heatmap and workloads")
struct ReportHeatmapTests {
    /// Eager: lines 0 and 1 of the leaf table cleaned 8 times (eight single-page maps each),
    /// line 1 once more by an unmap; each table descriptor's line once: counts {1, 8, 9}.
    static let script: String = {
        var lines = (0..<16).map { "map \(hex($0 * 4096)) \(hex(0x8000_0000 + $0 * 4096)) 4K 1 rw" }
        lines += ["unmap 0x8000 4K 1", "tlb_sync"]
        return lines.joined(separator: "\n") + "\n"
    }()

    static func hex(_ v: Int) -> String { "0x" + String(v, radix: 16) }

    static func matches(_ pattern: String, in s: String) -> [String] {
        let re = try! NSRegularExpression(pattern: pattern)
        return re.matches(in: s, range: NSRange(s.startIndex..., in: s)).map { String(s[Range($0.range(at: 1), in: s)!]) }
    }

    static func report(_ dir: URL, _ db: String) throws -> String {
        let out = dir.appendingPathComponent("r.html").path
        let r = try Binary.run(["report", "--db", db, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        _ = try ReportTests.parse(out)
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    @Test("counts {1, 8, 9}: three classes, a legend of exactly 1, 8, 9, line-index ticks")
    func exactClasses() throws {
        let dir = try Binary.scratch()
        let script = dir.appendingPathComponent("c.pgs")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, "--strategy", "eager", script.path]).status == 0)
        let html = try Self.report(dir, db)
        #expect(Self.matches("data-legend=\"([^\"]*)\"", in: html) == ["1", "8", "9"])
        let cellClasses = Self.matches("<rect [^>]*class=\"(heat-[0-9-]+)\"[^>]*><title>", in: html)
        #expect(cellClasses.sorted() == ["heat-1", "heat-1", "heat-1", "heat-8", "heat-9"])
        #expect(html.contains("class=\"heat-8\"><title>L0/0/L1/0/L2/0/L3 line 0 (offset 0x0): cleaned 8 times</title>"))
        #expect(html.contains("class=\"heat-9\"><title>L0/0/L1/0/L2/0/L3 line 1 (offset 0x40): cleaned 9 times</title>"))
        let fills = Set(Self.matches("<rect [^>]*fill=\"(#[0-9a-f]+)\" class=\"heat-", in: html))
        #expect(fills == ["#440154", "#1f9e89", "#fde725"])
        #expect(Self.matches("<text class=\"tick\"[^>]*>([0-9]+)</text>", in: html).prefix(8) == ["0", "8", "16", "24", "32", "40", "48", "56"])
        #expect(html.contains("line index (byte offset = index × 64)"))
    }

    @Test("two workloads: grouped, ratios only within each, 0/0 shown as –, segments listed")
    func workloads() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, "--strategy", "eager,deferred", "--generate", "sg:pages=64"]).status == 0)
        #expect(try Binary.run(["record", "--db", db, "--strategy", "eager,deferred", "--generate", "sg:pages=32"]).status == 0)
        let html = try Self.report(dir, db)
        #expect(Self.matches("<tr data-run=\"([0-9]+)\" data-workload=\"[0-9]+\"", in: html) == ["1", "2", "3", "4"])
        #expect(Self.matches("<tr data-run=\"[0-9]+\" data-workload=\"([0-9]+)\"", in: html) == ["1", "1", "2", "2"])
        #expect(html.contains("ratios to run 1, the first complete run of this workload"))
        #expect(html.contains("ratios to run 3, the first complete run of this workload"))
        // Baselines carry no ratios; each other run has one per figure.
        let rows = Self.matches("(<tr data-run=.*?</tr>)", in: html)
        #expect(rows.count == 4)
        #expect(!rows[0].contains("data-ratio") && !rows[2].contains("data-ratio"))
        // stale findings are 0 in both runs: 0 to 0 is –, never 0 (1×).
        #expect(rows[1].contains("data-figure=\"stale_findings\" data-value=\"0\">0<span class=\"ratio\" data-ratio=\"–\"> (–)</span>"))
        #expect(!html.contains(">0<span class=\"ratio\" data-ratio=\"1×\">"))
        #expect(Self.matches("<td class=\"text\" data-status=\"([a-z]+)\"", in: html) == ["complete", "complete", "complete", "complete"])
        #expect(Self.matches("<tr class=\"segment\"><td class=\"text\">([0-9]+)</td>", in: html) == ["1", "1", "1", "1"])
    }

    @Test("sixteen distinct counts: ten classes, the merged ones labelled as ranges, and a note saying so")
    func ranges() throws {
        // Leaf line k < 8: k + 1 single-page maps; line 8 + j: eight maps and j + 1 single-page unmaps.
        var lines: [String] = []
        for k in 0..<16 {
            let maps = k < 8 ? k + 1 : 8
            for p in 0..<maps { lines.append("map \(Self.hex((k * 8 + p) * 4096)) \(Self.hex(0x8000_0000 + (k * 8 + p) * 4096)) 4K 1 rw") }
            if k >= 8 { for p in 0..<(k - 7) { lines.append("unmap \(Self.hex((k * 8 + p) * 4096)) 4K 1") } }
        }
        lines.append("tlb_sync")
        let dir = try Binary.scratch()
        let script = dir.appendingPathComponent("r.pgs")
        try (lines.joined(separator: "\n") + "\n").write(to: script, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, "--strategy", "eager", script.path]).status == 0)
        let html = try Self.report(dir, db)
        #expect(Self.matches("data-legend=\"([^\"]*)\"", in: html) == [
            "1", "2–3 (range)", "4", "5–6 (range)", "7–8 (range)", "9", "10–11 (range)", "12", "13–14 (range)", "15–16 (range)"])
        #expect(html.contains("class=\"heat-2-3\"><title>L0/0/L1/0/L2/0/L3 line 1 (offset 0x40): cleaned 2 times</title>"))
        #expect(html.contains("More than 10 distinct counts: each legend entry marked (range) covers the counts between its bounds"))
    }
}
