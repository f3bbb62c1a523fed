/// What one top-level call did, gathered from its events: the unit the `run`
/// command prints and the conformance logs record.
public struct CallTrace: Sendable, Hashable {
    public var call: Call
    public var result: CallResult
    /// Every event between the call's begin and end, nested calls included.
    public var events: [Event]
    /// Descriptors the device could not see as the CPU wrote them, after the call.
    public var staleAfter: Int

    public init(call: Call, result: CallResult, events: [Event], staleAfter: Int) {
        self.call = call
        self.result = result
        self.events = events
        self.staleAfter = staleAfter
    }

    /// The per-call counts of the conformance logs.
    public struct Counts: Sendable, Hashable, Codable {
        public var cmo = 0, lines = 0, tlbAll = 0, tlbWalk = 0, tlbPage = 0, warn = 0
        public var stale = 0
    }

    public var counts: Counts {
        var c = Counts()
        for e in events {
            switch e.payload {
            case .clean(_, _, _, _, let lines, _, let reason) where reason == .descriptors:
                c.cmo += 1
                c.lines += lines
            case .invalidate(let kind, _, _, _):
                if kind == .all { c.tlbAll += 1 } else if kind == .walk { c.tlbWalk += 1 }
            case .addPage: c.tlbPage += 1
            case .warn: c.warn += 1
            default: break
            }
        }
        c.stale = staleAfter
        return c
    }
}

/// Splits an event stream into top-level calls.
public struct CallTraceBuilder {
    private var openCall: Call?
    private var openSeq: UInt64 = 0
    private var events: [Event] = []

    public init() {}

    /// Feeds one event; returns a finished top-level call when this event ends one.
    public mutating func add(_ event: Event) -> (call: Call, result: CallResult, events: [Event])? {
        guard let call = openCall else {
            if case .callBegin(let call) = event.payload {
                openCall = call
                openSeq = event.seq
                events.removeAll(keepingCapacity: true)
            }
            return nil
        }
        if case .callEnd(_, let result) = event.payload, event.call == openSeq {
            openCall = nil
            return (call, result, events)
        }
        events.append(event)
        return nil
    }
}
