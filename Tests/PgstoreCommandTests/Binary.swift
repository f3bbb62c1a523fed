import Foundation

/// Runs the built `pgstore` binary as a child process, as a user would.
enum Binary {
    static let url: URL = {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = me.deletingLastPathComponent()
        // The test runner may be inside a bundle directory on some platforms.
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("pgstore")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return me.deletingLastPathComponent().appendingPathComponent("pgstore")
    }()

    struct Outcome {
        var status: Int32
        /// True when the process died of a signal (a crash or a Swift runtime trap).
        var signaled: Bool
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], in directory: URL? = nil, environment extra: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if !extra.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 } }
        if let directory { process.currentDirectoryURL = directory }
        // Files rather than pipes: a large output can never block the child.
        let dir = try scratch()
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        try? FileManager.default.removeItem(at: dir)
        return Outcome(status: process.terminationStatus,
                       signaled: process.terminationReason == .uncaughtSignal,
                       stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts the binary without waiting; its output goes to files in `directory`.
    static func start(_ arguments: [String], in directory: URL, stdin: Pipe? = nil, environment extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if !extra.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 } }
        FileManager.default.createFile(atPath: directory.appendingPathComponent("child.out").path, contents: nil)
        FileManager.default.createFile(atPath: directory.appendingPathComponent("child.err").path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: directory.appendingPathComponent("child.out"))
        process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("child.err"))
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// A scratch directory for one test.
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgstore-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The conformance fixtures (`Tests/Fixtures/conformance`).
    static let sharedConformance: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/conformance")
}
