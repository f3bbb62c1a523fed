import Foundation

/// One running kernel helper process: steps in on its stdin, lines out on its
/// stdout, one set of page tables for its lifetime.
public final class KernelHelper {
    public let binary: HelperBuild.Binary
    /// The helper's process id.
    public var pid: Int32 { process.processIdentifier }
    /// Features the helper reported in its handshake (`sync_map`, `defer_sync_pte`, ...).
    public private(set) var features: Set<String> = []
    private let process = Process()
    private let input: FileHandle
    private let output: FileHandle
    private let errors = Pipe()
    private var buffer: [UInt8] = []
    private var start = 0
    private var stopped = false
    /// The helper and the driving thread on one CPU (``HelperPlacement``).
    private var placement: HelperPlacement?

    public init(binary: HelperBuild.Binary) throws(KernelError) {
        self.binary = binary
        let stdin = Pipe(), stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: binary.path)
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = errors
        input = stdin.fileHandleForWriting
        output = stdout.fileHandleForReading
        do { try process.run() } catch {
            throw .launchFailed(path: binary.path, reason: error.localizedDescription)
        }
        placement = HelperPlacement.place(helper: process.processIdentifier)
        guard let hello = readLine() else { throw crashed() }
        let f = hello.split(separator: " ")
        guard f.count == 4, f[0] == "PGSTORE-KERNEL-HELPER", f[1] == "\(HelperBuild.protocolVersion)",
              f[3].hasPrefix("features=") else {
            throw .protocolMismatch(line: String(hello))
        }
        features = Set(f[3].dropFirst("features=".count).split(separator: ",").map(String.init)).subtracting(["none"])
    }

    deinit { stop() }

    /// Ends the helper and reaps it: it ends at the end of its input; one
    /// still running after a second is terminated. Called again, it does
    /// nothing. A recording that exits inside a call calls it first, so no
    /// helper outlives pgstore, not even as a zombie.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        try? input.close()
        let deadline = Date().addingTimeInterval(1)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        placement?.restore()
        placement = nil
    }

    /// Sends one step and returns the lines it produced, its `R` line last.
    public func step(_ text: String) throws(KernelError) -> [HelperLine] {
        do { try input.write(contentsOf: Data((text + "\n").utf8)) } catch { throw crashed() }
        var lines: [HelperLine] = []
        while let raw = readLine() {
            guard let line = HelperLine(raw) else { throw .protocolMismatch(line: String(raw)) }
            switch line {
            case .result:
                lines.append(line)
                return lines
            case .refused(let why):
                throw .stepRefused(step: text, reason: why)
            case .bug:
                lines.append(line)
                return lines
            default:
                lines.append(line)
            }
        }
        throw crashed()
    }

    /// The failure of a helper that stopped: its exit status and its last messages.
    private func crashed() -> KernelError {
        try? input.close()
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal
            ? "killed by signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let tail = text.split(separator: "\n").suffix(5).joined(separator: "; ")
        return .helperCrashed(status: status, stderr: tail)
    }

    /// The next line of the helper's stdout, nil at its end.
    private func readLine() -> Substring? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 10) {
                let line = String(decoding: buffer[start..<nl], as: UTF8.self)
                start = nl + 1
                return Substring(line)
            }
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            let chunk = output.availableData
            if chunk.isEmpty { return nil }
            buffer.append(contentsOf: chunk)
        }
    }
}
