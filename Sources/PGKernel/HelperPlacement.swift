#if canImport(Glibc)
import Glibc
#endif
import PGCPUAffinity

/// Where a kernel helper runs: on the CPU of the thread that drives it.
///
/// pgstore and its helper take turns, one step at a time: pgstore writes a
/// step and waits, the helper runs it and waits. Left to the scheduler the
/// two land on different CPUs, and each turn then wakes a sleeping CPU: on
/// this 2-core machine `record --kernel-source --generate sg:pages=100000`
/// spent most of its time in the wake-up path (perf: `finish_task_switch`,
/// `_raw_spin_unlock_irqrestore` on both sides) and ran at 83k events/s,
/// 366k with both on one CPU (docs/PERFORMANCE.md). Since only one side ever
/// runs, one CPU loses nothing. The driving thread's own CPUs are given back
/// when the helper stops, by the thread that placed it.
struct HelperPlacement {
    private var saved = pgcpu_set()
    #if canImport(Glibc)
    private let thread = pthread_self()
    #endif

    /// Puts the helper `pid` and the calling thread on the CPU the thread is
    /// on; nil where that cannot be done (one CPU allowed, the CPU unknown, a
    /// refusal): the helper then runs wherever the scheduler puts it.
    static func place(helper pid: Int32) -> HelperPlacement? {
        var placement = HelperPlacement()
        guard pgcpu_place_with_caller(pid, &placement.saved) == 0 else { return nil }
        return placement
    }

    /// Gives the driving thread back the CPUs it had, when called on it.
    func restore() {
        #if canImport(Glibc)
        guard pthread_equal(thread, pthread_self()) != 0 else { return }
        #endif
        var mask = saved
        _ = pgcpu_restore_caller(&mask)
    }
}
