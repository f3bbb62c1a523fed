import Foundation

/// The dump's tables as JSON, written by hand in exactly the bytes
/// JSONOutput's encoder gives (pretty, keys sorted, slashes as they are).
/// JSONEncoder wrote 845 MB of a 2.5M-entry dump in 35 s; this writes the
/// same bytes without building the encoder's tree for each entry. A string
/// that would need escaping goes through JSONEncoder, so the bytes stay its.
enum TableJSONWriter {
    /// `table` as an element of the document's `tables` array (indented 4 spaces).
    static func append(_ table: RunJSON.TableJSON, to out: inout [UInt8]) {
        out += "    {\n      \"entries\" : [".utf8
        elements(table.entries, indent: "        ", &out) { e, out in
            out += "{\n          \"attributes\" : [".utf8
            elements(e.attributes, indent: "            ", &out) { string($0, &$1) }
            out += "          ],\n          \"index\" : ".utf8
            out += String(e.index).utf8
            if let memory = e.memory {
                out += ",\n          \"memory\" : ".utf8
                string(memory, &out)
            }
            out += ",\n          \"output\" : ".utf8
            string(e.output, &out)
            out += (e.stale ? ",\n          \"stale\" : true,\n          \"type\" : " : ",\n          \"stale\" : false,\n          \"type\" : ").utf8
            string(e.type, &out)
            out += ",\n          \"value\" : ".utf8
            string(e.value, &out)
            out += "\n        }".utf8
        }
        out += "      ],\n      \"id\" : ".utf8
        out += String(table.id).utf8
        out += ",\n      \"level\" : ".utf8
        out += String(table.level).utf8
        out += ",\n      \"name\" : ".utf8
        string(table.name, &out)
        out += ",\n      \"pa\" : ".utf8
        string(table.pa, &out)
        out += ",\n      \"path\" : [".utf8
        elements(table.path, indent: "        ", &out) { i, out in out += String(i).utf8 }
        out += "      ]\n    }".utf8
    }

    /// What follows an array's `[` up to its closing line, as JSONEncoder
    /// lays it out: each element on its own line `indent` in, or an empty
    /// line when there are none.
    static func elements<T>(_ items: [T], indent: String, _ out: inout [UInt8], _ write: (T, inout [UInt8]) -> Void) {
        out += "\n".utf8
        guard !items.isEmpty else {
            out += "\n".utf8
            return
        }
        for (k, item) in items.enumerated() {
            out += (k > 0 ? ",\n" + indent : indent).utf8
            write(item, &out)
        }
        out += "\n".utf8
    }

    /// A JSON string: quoted as it is when nothing in it needs escaping, else as JSONEncoder escapes it.
    static func string(_ s: String, _ out: inout [UInt8]) {
        let plain = s.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 < 0x7f }
        if plain {
            out.append(UInt8(ascii: "\""))
            out += s.utf8
            out.append(UInt8(ascii: "\""))
        } else {
            out += (try? JSONOutput.encoder.encode(s)).map { Array($0) } ?? Array("\"\"".utf8)
        }
    }
}
