import Foundation
import Testing

/// README's five-minute tour, run as a reader would type it: every command
/// succeeds (or exits as its comment says), every figure a comment states is
/// in the command's output, and every query prints the output README shows,
/// through the stock sqlite3 shell and through `pgstore query`.
@Suite("README tour")
struct ReadmeTourTests {
    struct Step {
        var words: [String]
        var comment: String
    }

    /// The tour's commands (the shell block after "## A five-minute tour") and the text blocks after it.
    static func tour() throws -> (steps: [Step], outputs: [String]) {
        let readme = try String(contentsOf: DocExamples.root.appendingPathComponent("README.md"), encoding: .utf8)
        let after = try #require(readme.range(of: "## A five-minute tour")).upperBound
        let section = readme[after...]
        let end = section.range(of: "\n## ")?.lowerBound ?? section.endIndex
        let blocks = DocExamples.blocks(inText: String(section[..<end]))
        let shell = try #require(blocks.first { $0.language == "sh" })
        var steps: [Step] = []
        for line in shell.lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("pgstore ") || trimmed.hasPrefix("sqlite3 ") else { continue }
            let parts = trimmed.components(separatedBy: "   #")
            let command = parts[0].trimmingCharacters(in: .whitespaces)
            let comment = parts.count > 1 ? parts[1...].joined(separator: "#") : ""
            steps.append(Step(words: DocExamples.words(command), comment: comment))
        }
        return (steps, blocks.filter { $0.language == "text" }.map(\.text))
    }

    /// Numbers with a decimal point in a comment: figures the output must show.
    static func figures(_ comment: String) -> [String] {
        comment.split(whereSeparator: { !($0.isNumber || $0 == ".") }).map(String.init)
            .filter { $0.contains(".") && $0.first!.isNumber && $0.last!.isNumber }
    }

    @Test("every command of the tour does what README says")
    func tourHolds() throws {
        let (steps, outputs) = try Self.tour()
        #expect(steps.count >= 9)
        let dir = try Binary.scratch()
        var queryOutputs: [String] = []
        for step in steps {
            // Paths into the repository (docs/examples/...) are the clone's.
            let words = step.words.map { $0.hasPrefix("docs/") ? DocExamples.root.appendingPathComponent($0).path : $0 }
            let expectedStatus: Int32 = step.comment.contains("exit status 1") ? 1 : 0
            if words[0] == "pgstore" {
                let r = try Binary.run(Array(words.dropFirst()), in: dir)
                #expect(r.status == expectedStatus, "\(words.joined(separator: " ")): \(r.stderr)")
                for figure in Self.figures(step.comment) {
                    #expect(r.stdout.contains(figure), "\(words.joined(separator: " ")) should show \(figure)")
                }
            } else {
                #expect(words.count == 3 && words[1] == "h.pgdb")
                let db = dir.appendingPathComponent(words[1]).path
                let sql = words[2]
                let q = try Binary.run(["query", "--db", db, "--format", "csv", sql])
                #expect(q.status == 0, "\(sql): \(q.stderr)")
                // sqlite3's default list mode: no header, fields joined by "|".
                let list = DocExamples.csvFields(q.stdout).dropFirst().map { $0.joined(separator: "|") }.joined(separator: "\n")
                queryOutputs.append(list)
                if DocExamples.sqlite3 != nil {
                    let shell = try DocExamples.sqlite3([db, sql])
                    #expect(shell.status == 0)
                    #expect(shell.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == list, "sqlite3 \(sql)")
                }
            }
        }
        #expect(queryOutputs == outputs)
    }
}
