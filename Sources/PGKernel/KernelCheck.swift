import PGEngine
import PGSources

/// One workload through a kernel tree's io-pgtable-arm.c and through
/// pgstore's engine (under the tree's profile), compared event for event,
/// top-level call by top-level call: what `check-kernel` does N times.
public struct KernelCheck {
    public let binary: HelperBuild.Binary
    /// `cfg.defer_sync_pte` on the kernel side; the engine then runs the seed's `deferred` strategy.
    public let deferSyncPTE: Bool

    public init(binary: HelperBuild.Binary, deferSyncPTE: Bool = false) {
        self.binary = binary
        self.deferSyncPTE = deferSyncPTE
    }

    /// Where the two first part.
    public struct Divergence: Sendable {
        /// The top-level call (0-based; -1 for the allocation) and the call itself.
        public var callIndex: Int
        public var call: Call?
        /// The event within that call, and each side's event there (nil: that side had no more).
        public var eventIndex: Int
        public var engine: String?
        public var kernel: String?
    }

    public struct Outcome: Sendable {
        public var calls = 0
        public var events = 0
        public var divergence: Divergence?
    }

    /// Runs `workload` both ways. A kernel that stops (BUG_ON, a crash) or
    /// refuses the configuration where the engine does not is a divergence too.
    public func run(_ workload: KernelCheckWorkload) throws(KernelError) -> Outcome {
        var outcome = Outcome()
        let engine: IOPageTable<EventLog>
        do {
            engine = try IOPageTable(config: workload.config, strategy: deferSyncPTE ? .deferred : .eager, sink: EventLog())
        } catch {
            throw .stepRefused(step: "alloc", reason: "the engine refuses \(workload.config.scriptLine): \(error.reason)")
        }
        let kernel: KernelPageTable<EventLog>
        do {
            kernel = try KernelPageTable(helper: try KernelHelper(binary: binary), config: workload.config,
                                         deferSyncPTE: deferSyncPTE, sink: EventLog())
        } catch let error {
            if case .configurationRefused = error {
                outcome.divergence = Divergence(callIndex: -1, call: nil, eventIndex: 0, engine: "configuration accepted",
                                                kernel: error.description)
                return outcome
            }
            throw error
        }
        var stopped: String?
        for call in workload.calls {
            _ = engine.run(call)
            do { _ = try kernel.run(call) } catch {
                stopped = error.description
                break
            }
        }
        let e = Self.topLevelCalls(engine.sink.events), k = Self.topLevelCalls(kernel.sink.events)
        for i in 0..<max(e.count, k.count) {
            let want = i < e.count ? e[i] : [], got = i < k.count ? k[i] : []
            outcome.calls += 1
            outcome.events += min(want.count, got.count)
            guard want != got else { continue }
            let at = (0..<min(want.count, got.count)).first { want[$0] != got[$0] } ?? min(want.count, got.count)
            let call: Call? = if case .callBegin(let c)? = (want.first ?? got.first) { c } else { nil }
            outcome.divergence = Divergence(callIndex: i - 1, call: call, eventIndex: at,
                                            engine: at < want.count ? Self.describe(want[at]) : nil,
                                            kernel: at < got.count ? Self.describe(got[at]) : stopped)
            return outcome
        }
        if let stopped {
            outcome.divergence = Divergence(callIndex: k.count - 1, call: nil, eventIndex: 0, engine: "went on", kernel: stopped)
        }
        return outcome
    }

    /// One event in a line, addresses and values in hex.
    public static func describe(_ payload: EventPayload) -> String {
        switch payload {
        case .callBegin(let c):
            return "begin \(c.scriptLine ?? c.kind.rawValue)"
        case .callEnd(let kind, let r):
            return "end \(kind.rawValue) ret=\(r.ret) value=\(PGEngine.hex(r.value))"
        case .write(let table, let index, let level, let iova, let old, let new):
            return "write T#\(table)[\(index)] level \(level) iova=\(PGEngine.hex(iova)) \(PGEngine.hex16(old)) -> \(PGEngine.hex16(new))"
        case .clean(let table, let index, let count, let first, let lines, _, let reason):
            return "clean T#\(table) idx=\(index) n=\(count) lines \(first)+\(lines) (\(reason))"
        case .invalidate(let kind, let iova, let size, let granule):
            return "tlb \(kind) iova=\(PGEngine.hex(iova)) size=\(PGEngine.hex(size)) granule=\(PGEngine.hex(granule))"
        case .addPage(let iova, let granule):
            return "tlb add_page iova=\(PGEngine.hex(iova)) granule=\(PGEngine.hex(granule))"
        case .tableAlloc(let t):
            return "alloc T#\(t.id) level \(t.level) bytes=\(PGEngine.hex(t.bytes))"
        case .tableFree(let table):
            return "free T#\(table)"
        case .access(let a):
            return "access iova=\(PGEngine.hex(a.iova)) \(a.outcome) pa=\(PGEngine.hex(a.pa))"
        case .warn(let w):
            return "WARN \(w)"
        }
    }

    /// Events grouped by top-level call: the allocation first, then one group per call.
    static func topLevelCalls(_ events: [Event]) -> [[EventPayload]] {
        var calls: [[EventPayload]] = []
        var depth = 0
        for e in events {
            if depth == 0 { calls.append([]) }
            calls[calls.count - 1].append(e.payload)
            if case .callBegin = e.payload { depth += 1 }
            if case .callEnd = e.payload { depth -= 1 }
        }
        return calls
    }
}
