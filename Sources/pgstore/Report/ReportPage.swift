import Foundation
import PGEngine
import PGStore
import Plot

/// The report: one self-contained XHTML page (inline CSS and SVG, no script,
/// no network), built with Plot.
enum ReportPage {
    typealias M = Markup

    static var figures: [(key: String, label: String, value: (StrategySummary) -> Double, format: (Double) -> String)] { [
        ("calls", "calls", { Double($0.calls) }, int),
        ("descriptor_writes", "descriptor writes", { Double($0.descriptorWrites) }, int),
        ("clean_calls", "clean calls", { Double($0.cleanCalls) }, int),
        ("lines_cleaned", "lines cleaned", { Double($0.linesCleaned) }, int),
        ("redundant_lines", "redundant lines", { Double($0.redundantLines) }, int),
        ("lines_per_mapped_page", "lines / mapped page", { $0.linesPerMappedPage }, { String(format: "%.4f", $0) }),
        ("tlb_flush_all", "TLB flush_all", { Double($0.flushAll) }, int),
        ("tlb_flush_walk", "TLB flush_walk", { Double($0.flushWalk) }, int),
        ("tlb_inv_range", "TLB leaf ranges", { Double($0.leafInvalidations) }, int),
        ("tlb_add_page", "TLB add_page", { Double($0.addPage) }, int),
        ("stale_findings", "stale findings", { Double($0.staleFindings) }, int),
    ] }

    static func int(_ d: Double) -> String { String(Int64(d)) }

    static func render(_ data: ReportData, file: String) -> String {
        let css = """
        body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1a1a1a;max-width:1200px}
        h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}h3{font-size:15px}
        table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 6px;text-align:right}
        th{background:#eee}td.text,th.text{text-align:left}.ratio{color:#555;font-size:11px}.note{color:#555;font-size:12px}
        code{font-size:12px}svg{display:block;margin:6px 0}
        """
        var body: [DocNode] = [
            M.el("h1", M.text("pgstore report")),
            M.el("p", M.attr("class", "note"),
                 M.text("History \(file), \(data.runs.count) runs, grouped by workload (the same input under the same configuration): "
                        + "ratios are to each workload's first complete run. Every figure comes from the documented tables and views of "
                        + "docs/SCHEMA.md (strategy_summary, clean_lines, findings, writes, cleans): reproduce any with pgstore query.")),
        ]
        let groups = WorkloadGroups.group(data.runs.map(\.info))
        let byID = Dictionary(data.runs.map { ($0.info.id, $0) }, uniquingKeysWith: { a, _ in a })
        for g in groups {
            let runs = g.runs.compactMap { byID[$0.id] }
            body.append(M.el("h2", M.attr("id", "workload-\(g.number)"), M.text("Workload \(g.number): \(WorkloadText.describe(g))")))
            body.append(summaryTable(g, runs))
            body += ([WorkloadText.baselineNote(g)] + WorkloadText.statusNotes(g)).map { M.el("p", M.attr("class", "note"), M.text($0)) }
            body.append(M.el("h3", M.text("Cost per strategy")))
            body.append(barChart(runs, title: "Lines cleaned per mapped page", value: { $0.summary.linesPerMappedPage },
                                 format: { String(format: "%.3f", $0) }))
            body.append(barChart(runs, title: "Clean calls", value: { Double($0.summary.cleanCalls) }, format: { String(Int64($0)) }))
        }
        for run in data.runs { body += runSection(run) }
        let page = M.el("html", M.attr("xmlns", "http://www.w3.org/1999/xhtml"), M.attr("lang", "en"),
                        M.el("head",
                             M.void("meta", [M.attribute("charset", "utf-8")]),
                             M.el("title", M.text("pgstore report: \(file)")),
                             M.el("style", M.text(css))),
                        M.el("body", body))
        return "<!DOCTYPE html>\n" + page.render() + "\n"
    }

    /// One workload's runs, each figure with its ratio to the workload's baseline
    /// (the first complete run; see ``WorkloadGroup``), as `compare` shows them.
    static func summaryTable(_ group: WorkloadGroup, _ runs: [ReportData.Run]) -> DocNode {
        let base = runs.first { $0.info.id == group.baseline?.id }?.summary
        var rows: [DocNode] = [M.el("tr", [M.el("th", M.text("run")), M.el("th", M.attr("class", "text"), M.text("strategy")),
                                          M.el("th", M.attr("class", "text"), M.text("status"))]
                                    + figures.map { M.el("th", M.text($0.label)) })]
        for run in runs {
            let s = run.summary
            var cells: [DocNode] = [M.el("td", M.text("\(s.run)")), M.el("td", M.attr("class", "text"), M.text(s.strategy)),
                                    M.el("td", M.attr("class", "text"), M.attr("data-status", run.info.effectiveStatus.rawValue),
                                         M.text(run.info.effectiveStatus.rawValue))]
            for f in figures {
                let v = f.value(s)
                var nodes: [DocNode] = [M.attr("data-figure", f.key), M.attr("data-value", f.format(v)), M.text(f.format(v))]
                if let base, run.info.id != base.run, group.hasRatios(run.info) {
                    let ratio = Ratio(v, baseline: f.value(base)).text(times: "×")
                    nodes.append(M.el("span", M.attr("class", "ratio"), M.attr("data-ratio", ratio), M.text(" (\(ratio))")))
                }
                cells.append(M.el("td", nodes))
            }
            rows.append(M.el("tr", [M.attr("data-run", "\(s.run)"), M.attr("data-workload", "\(group.number)")] + cells))
        }
        return M.el("table", [M.attr("class", "summary")] + rows)
    }

    static func barChart(_ runs: [ReportData.Run], title: String, value: (ReportData.Run) -> Double, format: (Double) -> String) -> DocNode {
        let rowHeight = 22.0, left = 220.0, width = 760.0
        let maxValue = max(runs.map(value).max() ?? 0, 1e-9)
        var nodes: [DocNode] = []
        var rows: [DocNode] = [M.el("tr", M.el("th", M.attr("class", "text"), M.text("run")), M.el("th", M.text(title)))]
        for (i, run) in runs.enumerated() {
            let v = value(run)
            let y = 24 + Double(i) * rowHeight
            let w = max(1, (width - left - 80) * v / maxValue)
            let name = "run \(run.info.id) \(run.info.label)"
            nodes.append(M.label(x: left - 6, y: y + 14, name, anchor: "end"))
            nodes.append(M.rect(x: left, y: y + 3, w: v == 0 ? 0 : w, h: rowHeight - 6, fill: Palette.series[i % Palette.series.count],
                                tooltip: "\(name): \(format(v))"))
            nodes.append(M.label(x: left + (v == 0 ? 0 : w) + 4, y: y + 14, format(v)))
            rows.append(M.el("tr", M.el("td", M.attr("class", "text"), M.text(name)), M.el("td", M.text(format(v)))))
        }
        nodes.insert(M.label(x: 0, y: 14, title, size: 13), at: 0)
        return M.el("div",
                    M.svg(width: width, height: 30 + Double(runs.count) * rowHeight, title: title, nodes),
                    M.el("details", M.el("summary", M.text("numbers")), M.el("table", rows)))
    }

    static func runSection(_ run: ReportData.Run) -> [DocNode] {
        let i = run.info
        var out: [DocNode] = [
            M.el("h2", M.attr("id", "run-\(i.id)"), M.text("Run \(i.id): \(i.label)")),
            M.el("p", M.attr("class", "note"),
                 M.text("\(RunsCommand.describe(i.config)); \(i.events) events; status \(i.effectiveStatus.rawValue)"
                        + (i.statusReason.map { ": \($0)" } ?? ""))),
            segments(run),
            M.el("h3", M.text("Cleans per cache line")),
        ]
        out.append(heatmap(run))
        out.append(M.el("h3", M.text("Over time")))
        out.append(timeline(run))
        out.append(M.el("h3", M.text("Stale findings")))
        out.append(findings(run))
        return out
    }

    static func timeline(_ run: ReportData.Run) -> DocNode {
        let width = 760.0, height = 200.0, left = 60.0, bottom = 24.0
        let points = run.timeline
        let maxY = Double(max(points.map { max($0.writes, $0.lines) }.max() ?? 1, 1))
        let maxX = Double(max(run.lastSeq, 1))
        func path(_ value: (ReportData.TimelinePoint) -> Int64) -> String {
            points.map { p in
                "\(M.num(left + (width - left - 10) * Double(p.seq) / maxX)),\(M.num(height - bottom - (height - bottom - 10) * Double(value(p)) / maxY))"
            }.joined(separator: " ")
        }
        let lastWrites = points.last?.writes ?? 0, lastLines = points.last?.lines ?? 0
        let nodes: [DocNode] = [
            M.void("line", [M.attribute("x1", M.num(left)), M.attribute("y1", M.num(height - bottom)), M.attribute("x2", M.num(width - 10)),
                            M.attribute("y2", M.num(height - bottom)), M.attribute("stroke", "#888")]),
            M.void("line", [M.attribute("x1", M.num(left)), M.attribute("y1", "10"), M.attribute("x2", M.num(left)),
                            M.attribute("y2", M.num(height - bottom)), M.attribute("stroke", "#888")]),
            M.label(x: left - 4, y: 18, "\(Int64(maxY))", size: 10, anchor: "end"),
            M.label(x: left - 4, y: height - bottom, "0", size: 10, anchor: "end"),
            M.label(x: width - 10, y: height - 6, "seq \(run.lastSeq)", size: 10, anchor: "end"),
            M.el("polyline", M.attr("points", path { $0.writes }), M.attr("fill", "none"), M.attr("stroke", Palette.series[0]),
                 M.attr("stroke-width", "2"), M.el("title", M.text("descriptor writes: \(lastWrites) at the end"))),
            M.el("polyline", M.attr("points", path { $0.lines }), M.attr("fill", "none"), M.attr("stroke", Palette.series[1]),
                 M.attr("stroke-width", "2"), M.attr("stroke-dasharray", "6 3"), M.el("title", M.text("lines cleaned: \(lastLines) at the end"))),
            M.rect(x: left + 10, y: 12, w: 14, h: 4, fill: Palette.series[0]),
            M.label(x: left + 28, y: 18, "descriptor writes (\(lastWrites))", size: 10),
            M.rect(x: left + 230, y: 12, w: 14, h: 4, fill: Palette.series[1]),
            M.label(x: left + 248, y: 18, "lines cleaned (\(lastLines))", size: 10),
        ]
        let title = "Cumulative descriptor writes and lines cleaned against sequence number, run \(run.info.id)"
        return M.svg(width: width, height: height, title: title, nodes)
    }

    /// The run's segments: the first record (or restore) and each `record --continue`.
    static func segments(_ run: ReportData.Run) -> DocNode {
        var rows: [DocNode] = [M.el("tr", ["segment", "source", "events", "calls", "started", "ended", "status"]
            .map { M.el("th", M.attr("class", "text"), M.text($0)) })]
        for seg in run.segments {
            let cells = ["\(seg.segment)", "\(seg.sourceKind.rawValue) \(seg.source)", seg.events == 0 ? "none" : "\(seg.startSeq + 1)–\(seg.endSeq)",
                         "\(seg.calls)", seg.startedAt, seg.endedAt ?? "", seg.status.rawValue + (seg.message.map { ": \($0)" } ?? "")]
            rows.append(M.el("tr", [M.attr("class", "segment")] + cells.map { M.el("td", M.attr("class", "text"), M.text($0)) }))
        }
        return M.el("table", [M.attr("class", "segments")] + rows)
    }

    static func findings(_ run: ReportData.Run) -> DocNode {
        guard !run.findings.isEmpty else { return M.el("p", M.attr("class", "findings-none"), M.text("No stale findings.")) }
        var rows: [DocNode] = [M.el("tr", ["seq", "call", "finding", "iova", "table", "index", "cpu", "memory"].map { M.el("th", M.text($0)) })]
        for f in run.findings {
            let table = f.table.flatMap { run.paths[$0] } ?? (f.table.map { "T#\($0)" } ?? "")
            let cells = ["\(f.seq)", "\(f.call)", f.kind, f.iova, table, f.index.map(String.init) ?? "", f.cpu ?? "", f.memory ?? ""]
            rows.append(M.el("tr", [M.attr("class", "finding")] + cells.map { M.el("td", M.attr("class", "text"), M.text($0)) }))
        }
        var parts: [DocNode] = [M.el("table", rows)]
        if run.omittedFindings > 0 {
            parts.append(M.el("p", M.attr("class", "note"), M.text("\(run.omittedFindings) more findings: pgstore stale --db FILE \(run.info.id)")))
        }
        return M.el("div", parts)
    }
}
