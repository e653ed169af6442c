import Foundation

/// Runs a closure every `interval` seconds on its own thread until stopped: lock renewal and build
/// progress must go on while the main thread waits for a long `createIndexes`.
/// Sendable: `isStopped`, its only mutable property, is read and written only while holding `once`; the
/// semaphores are thread-safe by design.
final class Heartbeat: @unchecked Sendable {
    private let stopped = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(interval: TimeInterval, _ beat: @escaping @Sendable () -> Void) {
        let thread = Thread { [stopped, finished] in
            while stopped.wait(timeout: .now() + interval) == .timedOut { beat() }
            finished.signal()
        }
        thread.start()
    }

    private let once = NSLock()
    private var isStopped = false

    /// Stops the beats and waits for a running one to end; later calls return at once.
    func stop() {
        once.lock()
        defer { once.unlock() }
        guard !isStopped else { return }
        isStopped = true
        stopped.signal()
        finished.wait()
    }
}
