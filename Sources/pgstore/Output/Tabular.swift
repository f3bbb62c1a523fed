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
    case real(Double)
    case null

    var display: String {
        switch self {
        case .text(let s): return s
        case .int(let v): return String(v)
        case .address(let v): return "0x" + String(UInt64(bitPattern: v), radix: 16)
        case .real(let d): return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(format: "%.4g", d)
        case .null: return ""
        }
    }

    var isNumeric: Bool {
        switch self {
        case .int, .address, .real: return true
        default: return false
        }
    }

    var json: Any {
        switch self {
        case .text(let s): return s
        case .int(let v): return v
        case .address: return display
        case .real(let d): return d
        case .null: return NSNull()
        }
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
