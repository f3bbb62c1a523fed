import Foundation
import PGEngine
import PGSources

/// Reads and parses a `.pgs` script, turning every failure into a message that names the file.
enum ScriptFile {
    static func load(_ path: String) throws -> Script {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PgstoreError("\(path): cannot read the script (\(describe(error)))")
        }
        // Invalid UTF-8 becomes U+FFFD, which the parser reports at its place.
        let text = String(decoding: data, as: UTF8.self)
        do {
            return try ScriptParser.parse(text, file: path)
        } catch {
            throw PgstoreError(error.description)
        }
    }

    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
           let message = String(validatingCString: strerror(Int32(underlying.code))) {
            return message
        }
        return ns.localizedDescription
    }
}

/// The engine configuration for a script under the command-line options,
/// checked once: a refused setting is reported where it was given (the flag,
/// or the script's `file:line:column`), before anything is run or recorded.
struct ResolvedSetup {
    var config: PageTableConfig
    /// The strategy the script's config line names (eager when it names none).
    var scriptStrategy: Strategy
    /// `--strategy` when given, else the script's.
    var strategy: Strategy
    var geometry: Geometry

    init(script: Script?, options: ConfigOptions, strategy override: String?) throws {
        let merged = try options.resolve(script?.config ?? ScriptConfig())
        config = merged.applied(to: .default)
        scriptStrategy = merged.strategy ?? .eager
        strategy = try override.map { try parseStrategy($0) } ?? scriptStrategy
        do {
            geometry = try config.checked()
        } catch {
            throw Self.refusal(error, script: script, options: options)
        }
    }

    /// Names where the refused setting came from: a flag overrides the script.
    static func refusal(_ error: ConfigError, script: Script?, options: ConfigOptions) -> PgstoreError {
        if let field = error.field, let flag = options.flag(for: field) {
            return PgstoreError("\(flag): \(error.reason)")
        }
        if let script, let field = error.field, let place = script.configKeyLocations[field] {
            return PgstoreError("\(place): \(field.rawValue): \(error.reason)")
        }
        if let script, let place = script.configLocation {
            return PgstoreError("\(place): configuration refused: \(error.reason)")
        }
        return PgstoreError("configuration refused: \(error.reason)")
    }
}
