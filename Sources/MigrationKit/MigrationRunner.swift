import Foundation
import MongoKit

/// Applies and reverses migrations, one runner at a time, with a record of each. The record and the lock
/// live in a `MigrationStore`, the operations run through a `MigrationExecutor`; by default both are the
/// target database.
public final class MigrationRunner {
    let migrations: [Migration]
    let options: RunnerOptions
    let store: MigrationStore
    let executor: MigrationExecutor

    public init(migrations: [Migration], store: MigrationStore, executor: MigrationExecutor, options: RunnerOptions) {
        self.migrations = migrations
        self.store = store
        self.executor = executor
        self.options = options
    }

    /// Keeps its record and lock in `database`, and runs the operations there.
    public convenience init(database: MongoDatabase, migrations: [Migration], options: RunnerOptions) {
        self.init(
            migrations: migrations, store: MongoMigrationStore(database: database, tool: options.tool),
            executor: MongoMigrationExecutor(database: database, options: options), options: options)
    }

    public convenience init(database: MongoDatabase, source: MigrationSource, options: RunnerOptions) throws {
        self.init(database: database, migrations: try source.loadMigrations(), options: options)
    }

    // MARK: apply

    /// Applies the pending migrations up to `target` in version order, resuming one a crash interrupted.
    /// Returns the versions applied.
    @discardableResult
    public func apply(to target: Int? = nil) throws -> [Int] {
        try checkTarget(target)
        return try withLock(purpose: "apply") { lock in
            let records = try recordsByVersion()
            try checkNothingBlocksApply(records)
            let pending = migrations.filter { migration in
                migration.version <= (target ?? Int.max) && (records[migration.version].map { $0.state == .applying } ?? true)
            }
            if pending.isEmpty { options.log("nothing to apply: every migration\(target.map { " up to \($0)" } ?? "") is applied") }
            for migration in pending {
                try checkLock(lock)
                try applyOne(migration, previous: records[migration.version])
            }
            return pending.map(\.version)
        }
    }

    private func applyOne(_ migration: Migration, previous: ChangelogRecord?) throws {
        let label = "\(migration.version) \(migration.title)"
        if let previous {
            options.log(
                "resuming migration \(label), interrupted after it started \(ISO8601DateFormatter().string(from: previous.startedAt)) on \(previous.host)")
        } else {
            options.log("applying migration \(label)")
        }
        let started = Date()
        try retrying(migration.version) { try store.markStarted(migration, state: .applying) }
        options.events(.started(version: migration.version))
        var preexisting = previous?.preexisting ?? [:]
        var outcome: [String] = []
        try runSteps(of: migration, outcome: &outcome) { index, operation in
            if case .createIndexes(let collection, let indexes) = operation, preexisting[String(index)] == nil {
                let names = try executor.existingIndexes(collection: collection, wanted: indexes)
                try store.recordPreexisting(migration.version, step: index, names: names)
                preexisting[String(index)] = names
            }
            return try executor.execute(operation, preexisting: Set(preexisting[String(index)] ?? []), derived: false)
        }
        options.events(.willRecord(version: migration.version))
        try retrying(migration.version) { try store.markApplied(migration, startedAt: started, outcome: outcome) }
        options.events(.recorded(version: migration.version))
        outcome.forEach { options.log("  " + $0) }
        options.log(String(format: "applied migration %@ in %.1f s", label, Date().timeIntervalSince(started)))
    }

    /// Runs the up steps; transient failures are retried, others recorded as the migration's failure.
    private func runSteps(
        of migration: Migration, outcome: inout [String], _ run: (Int, MigrationOperation) throws -> [String]
    ) throws {
        let started = Date()
        do {
            for (index, step) in migration.up.enumerated() {
                let lines = try retrying(migration.version) { try run(index, step.operation) }
                outcome += lines
            }
        } catch let error as MigrationError {
            throw error
        } catch {
            try? retrying(migration.version) {
                try store.markFailed(migration.version, startedAt: started, error: String(describing: error), outcome: outcome)
            }
            throw MigrationError.failed(version: migration.version, title: migration.title, direction: .up, underlying: error)
        }
    }

    // MARK: down

    /// Reverses the last recorded migration, or every one above `target`, newest first. A failed or
    /// interrupted migration counts too: reversing it is one of the ways to settle it.
    @discardableResult
    public func down(to target: Int? = nil) throws -> [Int] {
        try withLock(purpose: "down") { lock in
            let records = try store.records().sorted { $0.version > $1.version }
            let targets = target.map { target in records.filter { $0.version > target } } ?? Array(records.prefix(1))
            if targets.isEmpty { options.log("nothing to reverse: no migration\(target.map { " above \($0)" } ?? "") is recorded") }
            for record in targets {
                try checkLock(lock)
                try revert(record)
            }
            return targets.map(\.version)
        }
    }

    private func revert(_ record: ChangelogRecord) throws {
        guard let migration = migrations.first(where: { $0.version == record.version }) else {
            throw MigrationError.blocked(.fileMissing(version: record.version, file: record.file))
        }
        guard migration.checksum == record.checksum else {
            throw MigrationError.blocked(
                .fileChanged(
                    version: record.version, file: migration.file, recordedChecksum: record.checksum, currentChecksum: migration.checksum,
                    wasApplied: record.state != .applying))
        }
        let label = "\(migration.version) \(migration.title)"
        options.log(record.state == .applied ? "reverting migration \(label)" : "reverting migration \(label) (recorded as \(record.state.rawValue))")
        let started = Date()
        try retrying(migration.version) { try store.markReverting(migration.version) }
        options.events(.started(version: migration.version))
        var outcome: [String] = []
        do {
            for (operation, kept) in reverseSteps(of: migration, preexisting: record.preexisting) {
                outcome += try retrying(migration.version) {
                    try executor.execute(operation, preexisting: kept, derived: migration.downIsDerived)
                }
            }
        } catch let error where !(error is MigrationError) {
            try? retrying(migration.version) {
                try store.markFailed(migration.version, startedAt: started, error: "down: \(error)", outcome: outcome)
            }
            throw MigrationError.failed(version: migration.version, title: migration.title, direction: .down, underlying: error)
        }
        options.events(.willRecord(version: migration.version))
        try retrying(migration.version) { try store.remove(migration.version) }
        options.events(.recorded(version: migration.version))
        outcome.forEach { options.log("  " + $0) }
        options.log(String(format: "reverted migration %@ in %.1f s", label, Date().timeIntervalSince(started)))
    }

    /// The written `down`, or the derived one, which keeps the indexes that existed before the migration.
    func reverseSteps(of migration: Migration, preexisting: [String: [String]]) -> [(MigrationOperation, Set<String>)] {
        guard migration.downIsDerived else { return migration.down.map { ($0.operation, []) } }
        return migration.up.enumerated().reversed().flatMap { index, step in
            (step.operation.derivedReverse ?? []).map { ($0, Set(preexisting[String(index)] ?? [])) }
        }
    }

    // MARK: resolve

    /// What `resolve` did.
    public enum Resolution: Equatable, Sendable, CustomStringConvertible {
        /// The changed file of an applied migration is now its recorded file.
        case acceptedChangedFile(version: Int, file: String)
        /// The applied migration's file is unchanged: nothing to do.
        case unchanged(version: Int)
        /// The failed, interrupted or half-reverted record is gone: `apply` runs the migration again
        /// (its operations skip what is already done).
        case forgotRecord(version: Int, state: ChangelogRecord.State)

        public var description: String {
            switch self {
            case .acceptedChangedFile(let version, let file): return "accepted the changed \(file) as applied migration \(version)"
            case .unchanged(let version): return "migration \(version) is applied and unchanged; nothing to resolve"
            case .forgotRecord(let version, let state):
                return "forgot the \(state.rawValue) record of migration \(version); the next apply runs it again "
                    + "(its operations skip what is already done)"
            }
        }
    }

    /// Settles a migration `apply` refuses to pass: forgets a failed or interrupted record so that `apply`
    /// runs it again, or accepts the changed file of an applied one.
    public func resolve(version: Int) throws -> Resolution {
        try withLock(purpose: "resolve") { _ in
            guard let record = try store.records().first(where: { $0.version == version }) else {
                throw MigrationError.nothingToResolve(version: version, reason: .noRecord)
            }
            switch record.state {
            case .applied:
                guard let migration = migrations.first(where: { $0.version == version }) else {
                    throw MigrationError.nothingToResolve(version: version, reason: .fileMissing)
                }
                guard migration.checksum != record.checksum else { return .unchanged(version: version) }
                try store.acceptChecksum(version, checksum: migration.checksum)
                return .acceptedChangedFile(version: version, file: migration.file)
            case .failed, .applying, .reverting:
                try store.remove(version)
                return .forgotRecord(version: version, state: record.state)
            }
        }
    }

    // MARK: shared

    func checkTarget(_ target: Int?) throws {
        if let target, !migrations.contains(where: { $0.version == target }) {
            throw MigrationError.unknownVersion(target, known: migrations.map(\.version))
        }
    }

    private func recordsByVersion() throws -> [Int: ChangelogRecord] {
        Dictionary(try store.records().map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// `apply` stops at failed, half-reverted and changed migrations until the user decides.
    func checkNothingBlocksApply(_ records: [Int: ChangelogRecord]) throws {
        for record in records.values.sorted(by: { $0.version < $1.version }) {
            let file = migrations.first { $0.version == record.version }
            switch record.state {
            case .failed:
                throw MigrationError.blocked(.failed(version: record.version, title: record.title, error: record.error))
            case .reverting:
                throw MigrationError.blocked(.halfReverted(version: record.version, title: record.title))
            case .applied, .applying:
                if let file, file.checksum != record.checksum {
                    throw MigrationError.blocked(
                        .fileChanged(
                            version: record.version, file: file.file, recordedChecksum: record.checksum, currentChecksum: file.checksum,
                            wasApplied: record.state == .applied))
                }
            }
        }
    }

    private func checkLock(_ lock: MigrationLockLease) throws {
        if let reason = lock.lossReason { throw MigrationError.lockLost(reason: reason) }
    }

    /// Runs `body` holding the lock, renewed on a heartbeat until `body` returns.
    private func withLock<T>(purpose: String, _ body: (MigrationLockLease) throws -> T) throws -> T {
        try executor.prepare()
        let lock = try store.acquireLock(tool: options.tool, purpose: purpose, timeToLive: options.lockTimeToLive, wait: options.lockWait) { holder in
            options.log("waiting for the migration lock, held by \(holder)")
        }
        options.events(.lockAcquired)
        let heartbeat = Heartbeat(interval: options.lockTimeToLive / 3) { lock.renew() }
        options.heldLock?.hold(lock, heartbeat: heartbeat)
        defer {
            options.heldLock?.forget()
            heartbeat.stop()
            lock.release()
        }
        return try body(lock)
    }

    /// Repeats `body` through failovers and restarts for up to `retryFor` seconds; its operations are
    /// idempotent, so a repeat finishes what the interrupted attempt started. Then stops with a dirty record.
    private func retrying<T>(_ version: Int, _ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(options.retryFor)
        var told = false
        while true {
            do {
                return try body()
            } catch let error as MongoError where RetryPolicy.isTransient(error) {
                guard Date() < deadline else { throw MigrationError.interrupted(version: version, underlying: error) }
                if !told { options.log("the server is not available (\(error)); retrying for up to \(Int(options.retryFor)) s") }
                told = true
                Thread.sleep(forTimeInterval: options.retryInterval)
            }
        }
    }
}
