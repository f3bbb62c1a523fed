import PGEngine
import PGKernel

/// What `run` prints from, whichever backend ran the calls: the calls so far
/// as ``CallTrace``s and pgstore's model of the tables for dumps and stale counts.
protocol TracedScriptRun: AnyObject {
    associatedtype StateSink: EventSink
    var state: IOPageTable<StateSink> { get }
    var traces: [CallTrace] { get }
    var events: [Event] { get }
    var seq: UInt64 { get }
    func step(_ call: Call) throws -> CallTrace
}

extension TracedRun: TracedScriptRun {
    var state: IOPageTable<EventLog> { engine }
    var seq: UInt64 { engine.seq }
    func step(_ call: Call) -> CallTrace { perform(call) }
}

extension KernelTracedRun: TracedScriptRun {
    func step(_ call: Call) throws -> CallTrace { try perform(call) }
}
