/// What went wrong with a history file, naming the file.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The file is not a pgstore database (or not SQLite at all).
        case notPgstore
        /// The file was made by a newer pgstore.
        case newerSchema
        /// The file was made by an older pgstore and must be upgraded (`pgstore migrate`) before it is read.
        case olderSchema
        /// The file cannot be opened or written.
        case access
        /// An SQLite error while reading or writing.
        case sqlite
        /// A run, snapshot or point that does not exist.
        case notFound
        /// A request that contradicts the file's contents.
        case invalid
    }

    public var kind: Kind
    public var path: String
    public var message: String

    public init(_ kind: Kind, path: String, _ message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
