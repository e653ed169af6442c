import ArgumentParser
import AuditKit
import Foundation
import MigrationKit
import MongoKit
import TextEscaping

/// Options of the commands that take the migration lock.
struct LockOptions: ParsableArguments {
    @Option(name: .long, help: "Seconds to wait for the lock when another runner holds it (0: stop at once, naming the holder).")
    var wait: Double = 0

    @Option(name: .long, help: "Seconds the lock lives without renewal; it is renewed every third of that while this runner works.")
    var lockTtl: Double = 30

    @Option(name: .long, help: "Seconds to keep retrying through a failover or server restart before stopping with a dirty record.")
    var retryFor: Double = 30

    func validate() throws {
        try requireFlag("--wait", wait, in: 0...86_400)
        try requireFlag("--lock-ttl", lockTtl, in: 1...86_400)
        try requireFlag("--retry-for", retryFor, in: 0...86_400)
    }

    func runnerOptions() -> RunnerOptions {
        var options = RunnerOptions(tool: toolName)
        options.lockWait = wait
        options.lockTimeToLive = lockTtl
        options.retryFor = retryFor
        options.log = { print(Escape.terminal($0)) }
        let heldLock = HeldLock()
        options.heldLock = heldLock
        SignalStop.shared.install { signal in
            // The runner waits on the server (an index build goes on there regardless); give the lock up now
            // rather than leave it held for its time to live, and stop.
            if heldLock.releaseNow() {
                printError("released the migration lock; a migration in progress keeps its record (`migrate status`), and `migrate apply` resumes it")
            }
            fflush(nil)
            _exit(SignalStop.exitCode(signal))
        }
        if isatty(STDERR_FILENO) == 1 {
            // Progress overwrites one terminal line; logs never go to a pipe or file with carriage returns.
            options.progress = { line in FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
        }
        return options
    }
}
