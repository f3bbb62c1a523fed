import Foundation

/// JSON on standard output, the same way for every command: pretty, keys
/// sorted, slashes in table paths left as they are.
enum JSONOutput {
    static func write<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(10)
        FileHandle.standardOutput.write(data)
    }
}
