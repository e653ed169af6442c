import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// SIGINT and SIGTERM stop a command cleanly: the first runs the command's clean-up (give up a migration
/// lock, end an audit early with its partial report) and the command exits 130 or 143 as shells expect;
/// a second one exits at once.
/// Sendable: `sources`, `received` and `cleanUp` are read and written only while holding `mutex`.
final class SignalStop: @unchecked Sendable {
    static let shared = SignalStop()

    private let mutex = NSLock()
    private var sources: [DispatchSourceSignal] = []
    private var received: Int32?
    private var cleanUp: (@Sendable (Int32) -> Void)?

    /// The signal that asked the command to stop, if one did.
    var signal: Int32? {
        mutex.lock()
        defer { mutex.unlock() }
        return received
    }

    /// The exit code for a stop by `signal` (128 + its number).
    static func exitCode(_ signal: Int32) -> Int32 { 128 + signal }

    /// Starts listening; `cleanUp` runs on the first signal, on a queue of its own.
    func install(cleanUp: (@Sendable (Int32) -> Void)? = nil) {
        mutex.lock()
        self.cleanUp = cleanUp
        mutex.unlock()
        for number in [SIGINT, SIGTERM] {
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in handle(number) }
            source.resume()
            mutex.withLock { sources.append(source) }
        }
    }

    private func handle(_ number: Int32) {
        mutex.lock()
        let first = received == nil
        if first { received = number }
        let work = cleanUp
        mutex.unlock()
        guard first else {
            fflush(nil)
            _exit(Self.exitCode(number))
        }
        FileHandle.standardError.write(
            Data("\nmongo-audit: stopping (\(number == SIGINT ? "interrupted" : "terminated")); a second signal exits at once\n".utf8))
        work?(number)
    }
}
