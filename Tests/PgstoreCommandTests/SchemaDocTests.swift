import Foundation
import Testing

/// Every example query of docs/SCHEMA.md, run against the file the document
/// describes, returns exactly what the document shows, through `pgstore query`
/// and through the stock sqlite3 shell.
@Suite("docs/SCHEMA.md examples")
struct SchemaDocTests {
    /// (sql, expected csv) pairs in document order: each `sql` block and the `csv` block after it.
    static func examples() throws -> [(String, String)] {
        var out: [(String, String)] = []
        var pendingSQL: String?
        for block in try DocExamples.blocks("docs/SCHEMA.md") {
            if block.language == "sql" { pendingSQL = block.text }
            if block.language == "csv", let sql = pendingSQL {
                out.append((sql, block.text))
                pendingSQL = nil
            }
        }
        return out
    }

    @Test("every example query returns what the document shows")
    func examplesHold() throws {
        let dir = try Binary.scratch()
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["demo", "--db", db]).status == 0)
        let findings = DocExamples.root.appendingPathComponent("docs/examples/findings.pgs").path
        #expect(try Binary.run(["record", "--db", db, "--strategy", "deferred", findings]).status == 0)
        let examples = try Self.examples()
        #expect(examples.count >= 8)
        for (sql, expected) in examples {
            let r = try Binary.run(["query", "--db", db, "--format", "csv", sql])
            #expect(r.status == 0, "\(sql): \(r.stderr)")
            #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "\(sql)")
            // The document says the same SQL reads the same in the stock shell (which quotes more of its CSV).
            if DocExamples.sqlite3 != nil {
                let shell = try DocExamples.sqlite3(["-csv", "-header", db, sql])
                #expect(shell.status == 0, "\(sql)")
                #expect(DocExamples.csvFields(shell.stdout) == DocExamples.csvFields(expected), "sqlite3: \(sql)")
            }
        }
    }
}
