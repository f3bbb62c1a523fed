import Foundation
import Synchronization

/// Ctrl-C during a recording: the first SIGINT asks the recording to stop
/// cleanly at the next call; a second one ends the process at once.
enum Interrupt {
    private static let requested = Atomic<Bool>(false)

    static var wasRequested: Bool { requested.load(ordering: .relaxed) }

    static func install() {
        signal(SIGINT) { _ in
            if Interrupt.requested.exchange(true, ordering: .relaxed) {
                _exit(130)
            }
        }
    }
}
