import PGEngine

/// One step of a workload being recorded.
public enum WorkloadStep: Sendable {
    /// A call, with the input line (0 when generated) and column it came from.
    case call(Call, line: Int, column: Int = 1)
    /// `snapshot NAME`: name the current point.
    case snapshot(String, line: Int)
    /// A trace's lost-events marker: from here on the history may miss events.
    case gap(cpu: Int, lost: Int64?, marker: String, line: Int)
    /// A stream has nothing to read just now: commit what was read.
    case idle
    /// The input went wrong here (a stream's bad line): the run fails with this message.
    case failure(String)
}

/// Where a run's workload came from, for the `runs` table.
public struct WorkloadSource: Sendable {
    public var kind: RunInfo.SourceKind
    /// A path, or a generator spec.
    public var description: String
    public var sha256: String
    public init(kind: RunInfo.SourceKind, description: String, sha256: String) {
        self.kind = kind
        self.description = description
        self.sha256 = sha256
    }
}

import Crypto

extension WorkloadSource {
    /// Hex SHA-256 of some bytes.
    public static func sha256<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        SHA256.hash(data: Array(bytes)).map { b in
            let s = String(b, radix: 16)
            return b < 16 ? "0" + s : s
        }.joined()
    }
}

extension WorkloadSource {
    /// SHA-256 of a stream, taken as it is read (a stream's hash is known only at its end).
    public struct Digest {
        private var hasher = SHA256()
        public init() {}
        public mutating func update<D: Sequence>(_ bytes: D) where D.Element == UInt8 { hasher.update(data: Array(bytes)) }
        public var hex: String {
            hasher.finalize().map { b in
                let s = String(b, radix: 16)
                return b < 16 ? "0" + s : s
            }.joined()
        }
    }
}
