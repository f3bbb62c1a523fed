import Foundation

/// JSON on standard output, the same way for every command: pretty, keys
/// sorted, slashes in table paths left as they are.
enum JSONOutput {
    static func write<T: Encodable>(_ value: T) throws {
        var data = try encoder.encode(value)
        data.append(10)
        FileHandle.standardOutput.write(data)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Writes `head` (an object whose keys all sort before `key`) with the
    /// array `key` appended, then `tail` (whose keys all sort after it): the
    /// bytes ``write(_:)`` gives for the whole object, written one element at
    /// a time by `append` (4 spaces in, no newline after). A dump of millions
    /// of entries then holds one table's JSON in memory, not the document's
    /// (3.6 GB for 2.5M entries).
    static func writeStreaming<Head: Encodable, Element, Tail: Encodable>(
        head: Head, key: String, elements: some Sequence<Element>, tail: Tail,
        append: (Element, inout [UInt8]) throws -> Void
    ) throws {
        let encoder = Self.encoder
        var out = OutputBuffer()
        // `{\n  "a" : 1,\n  "b" : 2\n}`: everything but the closing brace, then the array.
        var headText = String(decoding: try encoder.encode(head), as: UTF8.self)
        guard headText.hasSuffix("\n}") else { throw EncodingError.invalidValue(head, .init(codingPath: [], debugDescription: "not an object")) }
        headText.removeLast(2)
        out.write(headText + ",\n  \"\(key)\" : [\n")
        var first = true
        var bytes: [UInt8] = []
        for element in elements {
            bytes.removeAll(keepingCapacity: true)
            if !first { bytes += ",\n".utf8 }
            first = false
            try append(element, &bytes)
            out.write(bytes)
        }
        out.write("\n  ]")   // an empty array is `[\n\n  ]`, as JSONEncoder writes it
        // `{\n  "z" : 1\n}`: its members after a comma.
        var tailText = String(decoding: try encoder.encode(tail), as: UTF8.self)
        guard tailText.hasPrefix("{\n") else { throw EncodingError.invalidValue(tail, .init(codingPath: [], debugDescription: "not an object")) }
        tailText.removeFirst(2)
        out.write(",\n" + tailText + "\n")
        out.flush()
    }
}

