extension RunInfo {
    /// Why a run is not complete, in words a reader can act on: the recorded
    /// message, or what the status itself says; nil for a complete run without one.
    public var statusReason: String? {
        if let message { return message }
        switch effectiveStatus {
        case .complete: return nil
        case .running: return "still being recorded"
        case .incomplete: return "the recording process stopped before the run ended"
        case .failed: return "the recording failed without saying why"
        }
    }
}
