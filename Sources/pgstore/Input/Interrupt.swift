import Foundation
import Synchronization

/// Ctrl-C (SIGINT) and SIGTERM during a recording: the first asks the
/// recording to stop cleanly where it is (within a second, also inside a long
/// call); a second one of either ends the process at once, with the status of
/// the signal (130 or 143).
enum Interrupt {
    /// The signal received first, 0 until then.
    private static let received = Atomic<Int32>(0)

    static var signal: Int32 { received.load(ordering: .relaxed) }
    static var wasRequested: Bool { signal != 0 }

    /// Why the recording stops, in the words stored with the run.
    static var reason: String? {
        switch signal {
        case 0: return nil
        case SIGTERM: return "stopped by SIGTERM"
        default: return "interrupted by SIGINT (Ctrl-C)"
        }
    }

    /// The exit status for a stop by `signal`: 128 + its number.
    static var exitStatus: Int32 { 128 + (signal == 0 ? SIGINT : signal) }

    static func install() {
        // A parent may have started us with the signals blocked (threads of
        // test runners often block them); a blocked one would stay pending.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        let handler: @convention(c) (Int32) -> Void = { number in
            let (exchanged, first) = Interrupt.received.compareExchange(expected: 0, desired: number, ordering: .relaxed)
            if !exchanged { _exit(128 + (first == SIGTERM ? SIGTERM : number)) }
        }
        Foundation.signal(SIGINT, handler)
        Foundation.signal(SIGTERM, handler)
    }
}
