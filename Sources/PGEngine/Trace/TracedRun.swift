/// An engine that keeps every event, and the calls it has run as ``CallTrace``s:
/// what `pgstore run` and the conformance tests drive.
public final class TracedRun {
    public let engine: IOPageTable<EventLog>
    /// The root allocation, then every top-level call so far.
    public private(set) var traces: [CallTrace] = []
    private var consumed = 0
    private var builder = CallTraceBuilder()
    /// Whether to count stale descriptors after each call (a scan of every live table).
    public var countsStale: Bool

    public init(config: PageTableConfig, strategy: Strategy, countsStale: Bool = true) throws(ConfigError) {
        engine = try IOPageTable(config: config, strategy: strategy, sink: EventLog())
        self.countsStale = countsStale
        collect()
    }

    /// All events so far.
    public var events: [Event] { engine.sink.events }

    /// Runs one call and returns what it did.
    @discardableResult
    public func perform(_ call: Call) -> CallTrace {
        engine.perform(call)
        collect()
        return traces[traces.count - 1]
    }

    /// Frees the tables (`free_io_pgtable_ops`) and returns what that did.
    @discardableResult
    public func free() -> CallTrace {
        engine.freeTables()
        collect()
        return traces[traces.count - 1]
    }

    private func collect() {
        let events = engine.sink.events
        while consumed < events.count {
            if let done = builder.add(events[consumed]) {
                let stale = countsStale ? engine.staleEntryCount() : 0
                traces.append(CallTrace(call: done.call, result: done.result, events: done.events, staleAfter: stale))
            }
            consumed += 1
        }
    }
}
