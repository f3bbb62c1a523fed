import Foundation
import PGEngine

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

/// The engine configuration for a script under the command-line options.
struct ResolvedSetup {
    var config: PageTableConfig
    var strategy: Strategy
    let script: Script
    let options: ConfigOptions

    init(script: Script, options: ConfigOptions, strategy override: String?) throws {
        self.script = script
        self.options = options
        let merged = try options.resolve(script.config)
        config = merged.applied(to: .default)
        if let override {
            strategy = try parseStrategy(override)
        } else {
            strategy = merged.strategy ?? .eager
        }
    }

    /// The geometry, or the kernel's reason for refusing the configuration.
    func geometry() throws -> Geometry {
        do {
            return try Geometry(config)
        } catch {
            throw options.refusal(error, script: script)
        }
    }
}
