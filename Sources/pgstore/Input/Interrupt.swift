import Foundation
import Synchronization

/// Ctrl-C during a recording: the first SIGINT asks the recording to stop
/// cleanly at the next call; a second one ends the process at once.
enum Interrupt {
    private static let requested = Atomic<Bool>(false)

    static var wasRequested: Bool { requested.load(ordering: .relaxed) }

    static func install() {
        // A parent may have started us with SIGINT blocked (threads of test
        // runners often block it); a blocked SIGINT would stay pending forever.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            if Interrupt.requested.exchange(true, ordering: .relaxed) {
                _exit(130)
            }
        }
    }
}
