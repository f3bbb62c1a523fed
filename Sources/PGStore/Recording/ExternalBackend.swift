import PGEngine

/// A backend other than pgstore's engine, as `record` is given it (the kernel
/// helper of `record --kernel-source`): what it is, for the run's row, and how
/// to start it with the run's ``Recorder`` as its sink. The recording drives it
/// through ``PageTableBackend`` as it drives the engine; its errors (a kernel
/// BUG_ON, a helper that stopped) end the run as failed, with what came before kept.
public struct ExternalBackend {
    public var kernel: RunBackend.KernelRun
    /// Starts the backend, its tables allocated, its events going to the recorder.
    public var start: (Recorder) throws -> any PageTableBackend

    public init(kernel: RunBackend.KernelRun, start: @escaping (Recorder) throws -> any PageTableBackend) {
        self.kernel = kernel
        self.start = start
    }
}
