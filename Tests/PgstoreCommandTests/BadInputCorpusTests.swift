import Foundation
import GRDB
import Testing

/// The bad-input corpus: one case a file in Corpus/, each naming the command
/// to run, the exit status and message fragments it must produce, and the
/// input (text after `---`, or `input-hex:` bytes, or `input-repeat:` CHAR COUNT)
/// and database (`db:` empty, text, history (one recorded run), truncated, newer, other-sqlite, locked) it
/// is run on. Every case runs through the real binary: no crash, the expected
/// status and messages, and the database byte for byte as it was unless the
/// case says `db-may-change: yes`.
@Suite("Bad-input corpus")
struct BadInputCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var fields: [(String, String)]
        var body: [UInt8]
        var testDescription: String { name }
        func values(_ key: String) -> [String] { fields.filter { $0.0 == key }.map(\.1) }
        func value(_ key: String) -> String? { values(key).first }
    }

    static let cases: [Case] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".case") }.sorted() ?? []
        return files.compactMap { file in
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path) else { return nil }
            let bytes = [UInt8](data)
            let marker = Array("\n---\n".utf8)
            guard let cut = (0...(bytes.count - marker.count)).first(where: { Array(bytes[$0..<($0 + marker.count)]) == marker }) else { return nil }
            let header = String(decoding: bytes[..<cut], as: UTF8.self)
            let fields = header.split(separator: "\n").compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
            }
            return Case(name: String(file.dropLast(5)), fields: fields, body: Array(bytes[(cut + marker.count)...]))
        }
    }()

    @Test("the corpus has at least 30 cases")
    func size() {
        #expect(Self.cases.count >= 30)
    }

    @Test("each case: no crash, its status, its messages, the database untouched", arguments: cases)
    func run(_ c: Case) throws {
        let dir = try Binary.scratch()
        let input = dir.appendingPathComponent("input.txt")
        var bytes = c.body
        if let hex = c.value("input-hex") {
            let digits = Array(hex.replacingOccurrences(of: " ", with: ""))
            bytes = stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
        }
        if let spec = c.value("input-repeat") {
            let parts = spec.split(separator: " ")
            bytes = Array(repeating: Array(parts[0].utf8)[0], count: Int(parts[1])!) + [10]
        }
        try Data(bytes).write(to: input)
        let db = dir.appendingPathComponent("h.pgdb").path
        var locker: Locker?
        if let kind = c.value("db") { locker = try Self.prepare(kind, at: db) }
        let before = Self.contents(db)

        func fill(_ s: String) -> String {
            s.replacingOccurrences(of: "{input}", with: input.path).replacingOccurrences(of: "{db}", with: db)
                .replacingOccurrences(of: "{dir}", with: dir.path)
        }
        let args = try #require(c.value("args")).split(separator: " ").map { fill(String($0)) }
        let r = try Binary.run(args)
        locker?.release()
        #expect(!r.signaled, "crashed: \(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"), "a runtime trap: \(r.stderr)")
        #expect(r.status == Int32(c.value("status") ?? "2"), "status \(r.status): \(r.stderr)")
        for m in c.values("message") { #expect(r.stderr.contains(fill(m)), "missing \"\(fill(m))\" in: \(r.stderr.prefix(500))") }
        for m in c.values("message-out") { #expect(r.stdout.contains(fill(m)), "missing \"\(fill(m))\" in stdout") }
        if c.value("db-may-change") != "yes" {
            #expect(Self.contents(db) == before, "the database changed")
        }
    }

    static func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Makes the database a case asks for; returns a connection to keep open while it runs (a lock).
    static func prepare(_ kind: String, at path: String) throws -> Locker? {
        switch kind {
        case "empty":
            FileManager.default.createFile(atPath: path, contents: Data())
        case "text":
            try Data("this is a shopping list, not a database\n".utf8).write(to: URL(fileURLWithPath: path))
        case "other-sqlite":
            let q = try DatabaseQueue(path: path)
            try q.write { db in try db.execute(sql: "CREATE TABLE people (name TEXT)") }
            try q.close()
        case "history", "truncated", "newer", "locked":
            #expect(try Binary.run(["record", "--db", path, "--generate", "sg:pages=64"]).status == 0)
            if kind == "newer" {
                let q = try DatabaseQueue(path: path)
                try q.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('9999_future')") }
                try q.close()
            }
            if kind == "truncated" {
                let full = try Data(contentsOf: URL(fileURLWithPath: path))
                try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: path))
                try? FileManager.default.removeItem(atPath: path + "-wal")
                try? FileManager.default.removeItem(atPath: path + "-shm")
            }
            if kind == "locked" { return try Locker(path: path) }
        default:
            Issue.record("unknown db kind \(kind)")
        }
        return nil
    }
}

/// Holds a write transaction on a database from another thread until released:
/// another writer, as far as pgstore can tell.
final class Locker: @unchecked Sendable {
    private let locked = DispatchSemaphore(value: 0)
    private let release_ = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(path: String) throws {
        let queue = try DatabaseQueue(path: path)
        Thread {
            try? queue.inDatabase { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                self.locked.signal()
                self.release_.wait()
                try db.execute(sql: "ROLLBACK")
            }
            try? queue.close()
            self.done.signal()
        }.start()
        locked.wait()
    }

    func release() {
        release_.signal()
        done.wait()
    }
}
