import PGEngine

/// One step of a workload being recorded.
public enum WorkloadStep: Sendable {
    /// A call, with the input line (0 when generated) and column it came from.
    case call(Call, line: Int, column: Int = 1)
    /// `snapshot NAME`: name the current point.
    case snapshot(String, line: Int)
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
