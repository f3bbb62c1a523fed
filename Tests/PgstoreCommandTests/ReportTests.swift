import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `pgstore report`, parsed as the XML document it is.
@Suite("pgstore report")
struct ReportTests {
    /// What the parser collected: summary cells by run and figure, texts, SVGs and whether each has a title.
    final class Collector: NSObject, XMLParserDelegate {
        var figures: [String: [String: String]] = [:]
        var currentRun: String?
        var svgs = 0
        var svgTitles = 0
        var depthInSVG = 0
        var text = ""
        var scripts = 0
        var stack: [String] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == "tr", let run = attributes["data-run"] { currentRun = run }
            if name == "td", let run = currentRun, let figure = attributes["data-figure"], let value = attributes["data-value"] {
                figures[run, default: [:]][figure] = value
            }
            if name == "svg" { svgs += 1; depthInSVG = stack.count + 1 }
            if name == "title", stack.last == "svg" { svgTitles += 1 }
            if name == "script" { scripts += 1 }
            stack.append(name)
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
            if name == "tr" { currentRun = nil }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    }

    static func parse(_ path: String) throws -> Collector {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let parser = XMLParser(data: data)
        let c = Collector()
        parser.delegate = c
        #expect(parser.parse(), "the report is not well-formed: \(String(describing: parser.parserError))")
        return c
    }

    @Test("the demo's report carries the figures of compare, every chart has a title, no script")
    func demoReport() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("demo.pgdb").path
        let demo = try Binary.run(["demo", "--db", db])
        #expect(demo.status == 0, "\(demo.stderr)")
        let last = try #require(demo.stdout.split(separator: "\n").last)
        #expect(last == "report: \(dir.appendingPathComponent("demo.html").path)")
        let report = try Self.parse(dir.appendingPathComponent("demo.html").path)

        let compare = try Binary.run(["compare", "--db", db, "--format", "json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(compare.stdout.utf8)) as? [[String: Any]])
        #expect(report.figures.count == rows.count && rows.count == 5)
        for row in rows {
            let run = "\(row["run"] as! Int)"
            let shown = try #require(report.figures[run])
            for key in ["calls", "descriptor_writes", "clean_calls", "lines_cleaned", "redundant_lines", "tlb_flush_all",
                        "tlb_flush_walk", "tlb_inv_range", "tlb_add_page", "stale_findings"] {
                #expect(shown[key] == "\(row[key] as! Int)", "run \(run) \(key)")
            }
            let lpp = try #require(shown["lines_per_mapped_page"].flatMap(Double.init))
            #expect(abs(lpp - (row["lines_per_mapped_page"] as! Double)) < 1e-9)
        }
        // Two bar charts, a timeline per run, a heatmap per run that cleaned (all but coherent).
        #expect(report.svgs == 2 + 5 + 4)
        #expect(report.svgTitles == report.svgs)
        #expect(report.scripts == 0)
        #expect(report.text.contains("No stale findings."))
        // The seed's picture: eager's leaf lines at 8, the others' at 1.
        let html = try String(contentsOfFile: dir.appendingPathComponent("demo.html").path, encoding: .utf8)
        #expect(html.contains("cleaned 8 times") && html.contains("cleaned 1 time<"))
        #expect(!html.contains("http://") || !html.contains("src=\"http"))
    }

    @Test("names from the database are text, never markup")
    func hostileNames() throws {
        let dir = try Binary.scratch()
        let script = dir.appendingPathComponent("<script>alert(1)<&amp;.pgs")
        try "iommu_map 0x0 0x80000000 4K rw\naccess 0x0 r\n".write(to: script, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, script.path]).status == 0)
        let out = dir.appendingPathComponent("r.html").path
        let r = try Binary.run(["report", "--db", db, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!html.contains("<script"))
        let report = try Self.parse(out)
        #expect(report.scripts == 0)
        #expect(report.text.contains("<script>alert(1)<"))
    }

    @Test("a file with no runs: a clear message, status 2")
    func noRuns() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("empty.pgdb").path
        #expect(try Binary.run(["migrate", db]).status == 0)
        let r = try Binary.run(["report", "--db", db])
        #expect(r.status == 2)
        #expect(r.stderr.contains("has no runs to report on"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("empty.html").path))
    }
}
