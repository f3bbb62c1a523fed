import Foundation

/// Tabular output in the formats `--format` offers: an aligned table, CSV or JSON.
enum TabularFormat: String, CaseIterable {
    case table, csv, json
}

/// A cell: text, an integer, an address (shown in hex), a real, or nothing.
enum Cell: Equatable {
    case text(String)
    case int(Int64)
    case address(Int64)
    /// A figure, shown to four significant digits.
    case real(Double)
    /// A value SQL returned, shown as the stock sqlite3 shell shows it.
    case sqlReal(Double)
    case null

    var display: String {
        switch self {
        case .text(let s): return s
        case .int(let v): return String(v)
        case .address(let v): return "0x" + String(UInt64(bitPattern: v), radix: 16)
        case .real(let d): return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(format: "%.4g", d)
        case .sqlReal(let d): return Self.sqliteText(d)
        case .null: return ""
        }
    }

    var isNumeric: Bool {
        switch self {
        case .int, .address, .real, .sqlReal: return true
        default: return false
        }
    }

    var json: Any {
        switch self {
        case .text(let s): return s
        case .int(let v): return v
        case .address: return display
        case .real(let d), .sqlReal(let d): return d
        case .null: return NSNull()
        }
    }

    /// sqlite3's text for a REAL: 15 significant digits, and always a decimal
    /// point (`2.0`, `1.0e+20`), so a reader sees a real, not an integer.
    static func sqliteText(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "Inf" }
        var s = String(format: "%.15g", d)
        if !s.contains(".") {
            if let e = s.firstIndex(of: "e") { s.insert(contentsOf: ".0", at: e) } else { s += ".0" }
        }
        return s
    }
}

struct Tabular {
    var columns: [String]
    var rows: [[Cell]]

    func render(_ format: TabularFormat) -> String {
        switch format {
        case .table:
            let right = Set(columns.indices.filter { i in rows.contains { $0[i].isNumeric } && !rows.contains { if case .text = $0[i] { return true } else { return false } } })
            return TextTable(header: columns, rows: rows.map { $0.map(\.display) }, rightAligned: right).render()
        case .csv:
            func quote(_ s: String) -> String {
                s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            }
            return ([columns.map(quote).joined(separator: ",")] + rows.map { $0.map { quote($0.display) }.joined(separator: ",") }).joined(separator: "\n")
        case .json:
            let objects = rows.map { row in
                Dictionary(uniqueKeysWithValues: zip(columns, row.map(\.json)))
            }
            let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("[]".utf8)
            return String(decoding: data, as: UTF8.self)
        }
    }
}

extension TabularFormat: ExpressibleByArgumentFormat {}
