import PGEngine

/// What makes two runs' figures comparable: the same workload bytes (or
/// generator spec) under the same configuration. Only the strategy may differ.
public struct WorkloadKey: Sendable, Hashable {
    public var sourceSHA256: String
    public var stage: Int
    public var granule: UInt64
    public var ias: Int
    public var oas: Int
    public var lineSize: Int
    /// The configured walk; nil for the `coherent` strategy, which forces a
    /// coherent walk whatever was configured (see ``WorkloadGroups/group(_:)``).
    public var coherentWalk: Bool?
    public var noWarn: Bool
    public var nonSecure: Bool

    /// The same key with the walk left open, to place a `coherent` run.
    var anyWalk: WorkloadKey {
        var k = self
        k.coherentWalk = nil
        return k
    }
}

extension RunInfo {
    /// The workload this run recorded, for grouping runs whose figures can be compared.
    public var workload: WorkloadKey {
        WorkloadKey(sourceSHA256: sourceSHA256, stage: Int(config.stage.rawValue), granule: config.granule.rawValue,
                    ias: config.ias, oas: config.oas, lineSize: config.lineSize,
                    coherentWalk: strategy.forcesCoherentWalk ? nil : config.coherentWalk,
                    noWarn: config.noWarn, nonSecure: config.nonSecure)
    }
}

/// Runs of one workload, in the order they were given, and the run their
/// figures are compared with.
public struct WorkloadGroup: Sendable {
    /// 1, 2, ... in the order the groups' first runs were given.
    public var number: Int
    public var key: WorkloadKey
    public var runs: [RunInfo]
    /// The first complete run of the group; nil when none is complete.
    public var baseline: RunInfo? { runs.first { $0.effectiveStatus == .complete } }

    /// Whether `run`'s figures get ratios: it is complete and the group has a baseline.
    /// A failed or interrupted run's figures are partial, so no ratio is honest for them.
    public func hasRatios(_ run: RunInfo) -> Bool { baseline != nil && run.effectiveStatus == .complete }
}

public enum WorkloadGroups {
    /// Groups runs by workload, keeping the given order within and across groups.
    /// A run of the `coherent` strategy, whose walk is coherent by definition, joins
    /// a group that matches it in everything but the walk: the non-coherent one when
    /// both exist (it is the baseline cost of the strategies that clean), else the
    /// coherent one, else a group of its own.
    public static func group(_ runs: [RunInfo]) -> [WorkloadGroup] {
        var groups: [WorkloadGroup] = []
        var pendingCoherent: [RunInfo] = []
        for run in runs {
            let key = run.workload
            if key.coherentWalk == nil {
                pendingCoherent.append(run)
                continue
            }
            if let i = groups.firstIndex(where: { $0.key == key }) {
                groups[i].runs.append(run)
            } else {
                groups.append(WorkloadGroup(number: 0, key: key, runs: [run]))
            }
        }
        for run in pendingCoherent {
            let open = run.workload
            let candidates = groups.indices.filter { groups[$0].key.anyWalk == open }
            if let i = candidates.first(where: { groups[$0].key.coherentWalk == false }) ?? candidates.first {
                groups[i].runs.append(run)
            } else if let i = groups.firstIndex(where: { $0.key == open }) {
                groups[i].runs.append(run)
            } else {
                groups.append(WorkloadGroup(number: 0, key: open, runs: [run]))
            }
        }
        // Keep each group's runs, and the groups, in the order the runs were given.
        let position = Dictionary(runs.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })
        for i in groups.indices { groups[i].runs.sort { position[$0.id]! < position[$1.id]! } }
        groups.sort { position[$0.runs[0].id]! < position[$1.runs[0].id]! }
        for i in groups.indices { groups[i].number = i + 1 }
        return groups
    }
}
