import ArgumentParser
import Foundation

/// pgstore's exit codes: 0 ok, 1 findings (stale descriptors and the like), 2
/// usage or input errors. swift-argument-parser's own usage errors (64) are
/// mapped to 2 here, in the one place.
do {
    var command = try Pgstore.parseAsRoot()
    try command.run()
} catch let error as PgstoreError {
    FileHandle.standardError.write(Data("pgstore: \(error.message)\n".utf8))
    exit(error.exitCode)
} catch {
    let code = Pgstore.exitCode(for: error)
    let message = Pgstore.fullMessage(for: error)
    if code == .success {
        if !message.isEmpty { print(message) }
        exit(0)
    }
    if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
    exit(code == .validationFailure ? 2 : code.rawValue)
}
