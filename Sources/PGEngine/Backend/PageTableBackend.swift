/// The seam between what drives a page table (scripts, traces, generators) and
/// what implements it: pgstore's engine, or the kernel's own io-pgtable-arm.c
/// through the kernel helper (PGKernel's `KernelPageTable`). Both take the same
/// calls and emit the same events into their sink, so a command swaps one for
/// the other in one line.
public protocol PageTableBackend: AnyObject {
    associatedtype Sink: EventSink
    /// Why a call could not run: `Never` for the engine; a kernel `BUG_ON` or a
    /// crashed helper for the kernel backend.
    associatedtype Failure: Error
    /// The sink of the model that holds ``state``.
    associatedtype StateSink: EventSink

    var sink: Sink { get set }
    /// The last event's sequence number (what a snapshot or checkpoint names).
    var seq: UInt64 { get }
    /// The begin event of the last top-level call (what exposures name).
    var lastTopLevelCall: UInt64 { get }
    /// The page tables, caches and TLB as the backend's events left them: the
    /// engine itself, or the kernel backend's model fed with the kernel's
    /// events. What checkpoints, dumps and stale findings read.
    var state: IOPageTable<StateSink> { get }
    /// The strategy as a run names it (`eager`, `kernel 6.12.118+defer_sync_pte`).
    var strategyName: String { get }
    /// Runs one call and returns what it returned; its events go to `sink`.
    func run(_ call: Call) throws(Failure) -> CallResult
    /// Ends whatever the backend runs outside this process, now, before the
    /// process exits in the middle of a call (a stop by signal): the kernel
    /// backend's helper is ended and reaped. The engine has nothing to end.
    func stop()
}

extension PageTableBackend {
    public func stop() {}
}

extension IOPageTable: PageTableBackend {
    public typealias Failure = Never

    public var strategyName: String { strategy.rawValue }

    public var state: IOPageTable<Sink> { self }

    public func run(_ call: Call) -> CallResult { perform(call) }
}
