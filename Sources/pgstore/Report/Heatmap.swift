import PGEngine
import PGStore

extension ReportPage {
    /// Cleans per cache line of one run: a row of cells per 64 lines of each table,
    /// line-index ticks above the grid and at each row's start, one colour class per
    /// clean count present (``HeatScale``) and a legend listing exactly those classes.
    static func heatmap(_ run: ReportData.Run) -> DocNode {
        guard !run.heat.isEmpty else { return M.el("p", M.attr("class", "note"), M.text("No descriptor cleans in this run.")) }
        let cell = 9.0, perRow = 64, labelWidth = 300.0, tickWidth = 28.0
        let gridLeft = labelWidth + tickWidth
        let lineSize = run.info.config.lineSize
        let scale = HeatScale(counts: run.heat.flatMap { $0.cells.map(\.times) })
        var nodes: [DocNode] = []
        // Column ticks: the line index within a row and its byte offset in the table.
        nodes.append(M.label(x: 0, y: 12, "line index (byte offset = index × \(lineSize))", size: 10))
        for col in stride(from: 0, to: perRow, by: 8) {
            let x = gridLeft + Double(col) * cell
            nodes.append(M.void("line", [M.attribute("x1", M.num(x)), M.attribute("y1", "20"), M.attribute("x2", M.num(x)),
                                         M.attribute("y2", "25"), M.attribute("stroke", "#888")]))
            nodes.append(M.el("text", M.attr("class", "tick"), M.attr("x", M.num(x)), M.attr("y", "17"), M.attr("font-size", "9"),
                              M.attr("text-anchor", "start"), M.text("\(col)")))
        }
        var y = 28.0
        for t in run.heat {
            let rows = max(1, (t.lines + perRow - 1) / perRow)
            nodes.append(M.label(x: 0, y: y + 8, "\(t.path)  \(hex(t.iovaStart))-\(hex(t.iovaEnd))", size: 10))
            for r in 0..<rows {
                // Row tick: the index of the row's first line.
                nodes.append(M.el("text", M.attr("class", "tick"), M.attr("x", M.num(gridLeft - 4)), M.attr("y", M.num(y + Double(r) * cell + 8)),
                                  M.attr("font-size", "9"), M.attr("text-anchor", "end"), M.text("\(r * perRow)")))
            }
            for c in t.cells {
                let r = c.line / perRow, col = c.line % perRow
                let entry = scale.entry(for: c.times)
                nodes.append(M.rect(x: gridLeft + Double(col) * cell, y: y + Double(r) * cell, w: cell - 1, h: cell - 1,
                                    fill: entry.colour, cssClass: entry.cssClass,
                                    tooltip: "\(t.path) line \(c.line) (offset \(hex(UInt64(c.line * lineSize)))): "
                                        + "cleaned \(c.times) time\(c.times == 1 ? "" : "s")"))
            }
            y += Double(rows) * cell + 6
        }
        // Legend: every class present, in order; a class covering several counts says so.
        nodes.append(M.label(x: 0, y: y + 14, "times cleaned:", size: 10))
        var x = 90.0
        for e in scale.entries {
            nodes.append(M.el("g", M.attr("class", "legend"), M.attr("data-legend", e.label),
                              M.rect(x: x, y: y + 5, w: 12, h: 12, fill: e.colour, cssClass: e.cssClass),
                              M.label(x: x + 16, y: y + 15, e.label, size: 10)))
            x += 24 + Double(e.label.count) * 6
        }
        let title = "Cleans per cache line, run \(run.info.id) (\(run.info.label)): one cell per line cleaned, colour = times cleaned"
        let width = max(gridLeft + Double(perRow) * cell + 10, x)
        var parts: [DocNode] = [M.svg(width: width, height: y + 24, title: title, nodes)]
        if scale.hasRanges {
            parts.append(M.el("p", M.attr("class", "note"),
                              M.text("More than \(HeatScale.exactLimit) distinct counts: each legend entry marked (range) covers the counts "
                                     + "between its bounds; the tooltip of each cell gives its exact count.")))
        }
        if run.omittedTables > 0 {
            parts.append(M.el("p", M.attr("class", "note"),
                              M.text("\(run.omittedTables) less-cleaned tables (\(run.omittedCells) lines) are left out to keep this page small; "
                                     + "query clean_lines for them.")))
        }
        return M.el("div", parts)
    }
}
