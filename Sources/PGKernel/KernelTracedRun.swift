import PGEngine

/// The kernel's counterpart of ``TracedRun``: a ``KernelPageTable`` that keeps
/// every event and the calls it has run as ``CallTrace``s, with pgstore's
/// model of the tables (`state`) for dumps and stale counts. What
/// `pgstore run --kernel-source` drives.
public final class KernelTracedRun {
    public let kernel: KernelPageTable<EventLog>
    public private(set) var traces: [CallTrace] = []
    private var consumed = 0
    private var builder = CallTraceBuilder()

    /// Builds (or takes from the cache) the tree's helper, starts it and allocates the tables.
    public init(tree: KernelTree, config: PageTableConfig, deferSyncPTE: Bool,
                environment: [String: String]) throws(KernelError) {
        let binary = try HelperBuild(tree: tree, environment: environment).helper()
        kernel = try KernelPageTable(helper: try KernelHelper(binary: binary), config: config,
                                     deferSyncPTE: deferSyncPTE, sink: EventLog())
        collect()
    }

    /// pgstore's model of memory, cache and TLB, fed with the kernel's events.
    public var state: IOPageTable<NullSink> { kernel.model }
    public var events: [Event] { kernel.sink.events }
    public var seq: UInt64 { kernel.seq }

    /// Runs one call in the kernel and returns what it did.
    @discardableResult
    public func perform(_ call: Call) throws(KernelError) -> CallTrace {
        _ = try kernel.run(call)
        collect()
        return traces[traces.count - 1]
    }

    private func collect() {
        let events = kernel.sink.events
        while consumed < events.count {
            if let done = builder.add(events[consumed]) {
                traces.append(CallTrace(call: done.call, result: done.result, events: done.events,
                                        staleAfter: kernel.model.staleEntryCount()))
            }
            consumed += 1
        }
    }
}
