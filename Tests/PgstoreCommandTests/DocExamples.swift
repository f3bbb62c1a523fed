import Foundation

/// Reading the examples out of the project's Markdown documents, and running
/// SQL the way the documents say a reader can: through `pgstore query` and
/// through the stock `sqlite3` shell.
enum DocExamples {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Block {
        var language: String
        var lines: [String]
        var text: String { lines.joined(separator: "\n") }
    }

    /// The fenced code blocks of a document, in order.
    static func blocks(_ relativePath: String) throws -> [Block] {
        blocks(inText: try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8))
    }

    static func blocks(inText text: String) -> [Block] {
        var out: [Block] = []
        var open: Block?
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("```") {
                if let b = open { out.append(b); open = nil } else { open = Block(language: String(line.dropFirst(3)), lines: []) }
            } else {
                open?.lines.append(line)
            }
        }
        return out
    }

    /// Words of a shell line, with double-quoted words kept whole (what the documents use).
    static func words(_ line: String) -> [String] {
        var out: [String] = [], word = "", quoted = false, any = false
        for ch in line {
            if ch == "\"" { quoted.toggle(); any = true; continue }
            if ch == " " && !quoted {
                if any || !word.isEmpty { out.append(word) }
                word = ""; any = false
                continue
            }
            word.append(ch)
        }
        if any || !word.isEmpty { out.append(word) }
        return out
    }

    /// The stock sqlite3 shell, when this machine has one (CI installs it).
    static let sqlite3: URL? = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("sqlite3")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()

    /// Runs the sqlite3 shell with `arguments`; its standard output.
    static func sqlite3(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        guard let tool = sqlite3 else { return (127, "") }
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// CSV records as fields (RFC 4180 quoting), so two writers that quote differently compare equal.
    static func csvFields(_ text: String) -> [[String]] {
        var records: [[String]] = [], fields: [String] = [], field = ""
        var quoted = false, previousQuote = false
        for ch in text.trimmingCharacters(in: .whitespacesAndNewlines) {
            if quoted {
                if ch == "\"" { quoted = false; previousQuote = true } else { field.append(ch) }
                continue
            }
            switch ch {
            case "\"":
                if previousQuote { field.append("\"") }
                quoted = true
            case ",": fields.append(field); field = ""
            case "\n": fields.append(field); records.append(fields); fields = []; field = ""
            default: field.append(ch)
            }
            previousQuote = false
        }
        fields.append(field)
        records.append(fields)
        return records
    }
}
