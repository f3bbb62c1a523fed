import Foundation
import Testing

/// Every example query of docs/SCHEMA.md, run against the file the document
/// describes, returns exactly what the document shows.
@Suite("docs/SCHEMA.md examples")
struct SchemaDocTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs")

    /// (sql, expected csv) pairs in document order.
    static func examples() throws -> [(String, String)] {
        let text = try String(contentsOf: docs.appendingPathComponent("SCHEMA.md"), encoding: .utf8)
        var out: [(String, String)] = []
        var pendingSQL: String?
        var block: [String]?
        var kind = ""
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("```") {
                if var b = block {
                    b = b.filter { _ in true }
                    if kind == "sql" { pendingSQL = b.joined(separator: "\n") }
                    if kind == "csv", let sql = pendingSQL {
                        out.append((sql, b.joined(separator: "\n")))
                        pendingSQL = nil
                    }
                    block = nil
                } else {
                    kind = String(line.dropFirst(3))
                    block = []
                }
            } else if block != nil {
                block!.append(line)
            }
        }
        return out
    }

    @Test("every example query returns what the document shows")
    func examplesHold() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["demo", "--db", db]).status == 0)
        let findings = Self.docs.appendingPathComponent("examples/findings.pgs").path
        #expect(try Binary.run(["record", "--db", db, "--strategy", "deferred", findings]).status == 0)
        let examples = try Self.examples()
        #expect(examples.count >= 8)
        for (sql, expected) in examples {
            let r = try Binary.run(["query", "--db", db, "--format", "csv", sql])
            #expect(r.status == 0, "\(sql): \(r.stderr)")
            #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "\(sql)")
        }
    }
}
