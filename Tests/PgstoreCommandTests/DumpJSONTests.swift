import Foundation
import Testing

/// `dump --format json` writes its document one table at a time, by hand
/// (TableJSONWriter). These tests hold it to the bytes JSONEncoder gives for
/// the same document, so a script that parsed the old output, or compared it
/// byte for byte, sees no change.
@Suite("dump --format json")
struct DumpJSONTests {
    struct Doc: Codable {
        var run: Int64
        var seq: Int64
        var strategy: String
        var tables: [Table]
        var view: String
    }

    struct Table: Codable {
        var entries: [Entry]
        var id: Int
        var level: Int
        var name: String
        var pa: String
        var path: [Int]
    }

    struct Entry: Codable {
        var attributes: [String]
        var index: Int
        var memory: String?
        var output: String
        var stale: Bool
        var type: String
        var value: String
    }

    /// The bytes JSONEncoder writes for `doc`, as `pgstore` prints a document.
    static func encoded(_ doc: Doc) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(doc), as: UTF8.self) + "\n"
    }

    @Test("every point of a deferred map_sg and of churn dumps as JSONEncoder would write it, in both views")
    func streamedBytesAreTheEncoders() throws {
        let dir = try Binary.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("h.pgdb").path
        let sg = try Binary.run(["record", "--db", db, "--strategy", "deferred", "--generate", "sg:pages=600"])
        #expect(sg.status == 0, "\(sg.stderr)")
        let churn = try Binary.run(["record", "--db", db, "--strategy", "eager", "--generate", "churn:ops=300,seed=5"])
        #expect(churn.status == 0, "\(churn.stderr)")

        var staleEntries = 0, entries = 0, emptyDocuments = 0
        for (run, seqs) in [(1, [0, 1, 50, 300, 1200, 1830]), (2, [0, 40, 400, 2000])] {
            for seq in seqs {
                for view in ["cpu", "memory"] {
                    let r = try Binary.run(["dump", "--db", db, "\(run):\(seq)", "--format", "json", "--view", view])
                    #expect(r.status == 0, "\(run):\(seq) \(view): \(r.stderr)")
                    let doc = try JSONDecoder().decode(Doc.self, from: Data(r.stdout.utf8))
                    #expect(doc.run == Int64(run) && doc.seq == Int64(seq) && doc.view == view)
                    #expect(r.stdout == (try Self.encoded(doc)), "\(run):\(seq) \(view) differs from JSONEncoder's bytes")
                    let all = doc.tables.flatMap(\.entries)
                    entries += all.count
                    staleEntries += all.filter { $0.stale && $0.memory != nil }.count
                    if doc.tables.isEmpty { emptyDocuments += 1 }
                }
            }
        }
        // The comparison covered the cases the writer spells out by hand.
        #expect(staleEntries > 0, "no stale entry with a memory word was dumped")
        #expect(emptyDocuments > 0, "no empty tables array was dumped")
        #expect(entries > 1000)
    }

    @Test("a deferred point shows the word the SMMU sees beside the CPU's")
    func staleEntryCarriesTheOtherWord() throws {
        let dir = try Binary.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("h.pgdb").path
        #expect(try Binary.run(["record", "--db", db, "--strategy", "deferred", "--generate", "sg:pages=600"]).status == 0)
        let cpu = try JSONDecoder().decode(Doc.self, from: Data(try Binary.run(["dump", "--db", db, "1:300", "--format", "json"]).stdout.utf8))
        let memory = try JSONDecoder().decode(Doc.self, from: Data(try Binary.run(["dump", "--db", db, "1:300", "--format", "json", "--view", "memory"]).stdout.utf8))
        let staleCPU = cpu.tables.flatMap(\.entries).filter(\.stale)
        #expect(!staleCPU.isEmpty)
        // In the CPU view a stale entry's value is the CPU's word and `memory` the word in memory; the memory view swaps them.
        let byKey = Dictionary(uniqueKeysWithValues: memory.tables.flatMap { t in t.entries.map { ("\(t.name)[\($0.index)]", $0) } })
        var matched = 0
        for table in cpu.tables {
            for e in table.entries where e.stale {
                if let m = byKey["\(table.name)[\(e.index)]"] {
                    #expect(m.value == e.memory && m.memory == e.value)
                    matched += 1
                }
            }
        }
        #expect(matched > 0)
    }
}
