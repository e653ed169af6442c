import Foundation
import MongoKit

/// What yields the migrations a runner knows, in version order.
public protocol MigrationSource {
    func loadMigrations() throws -> [Migration]
}

extension MigrationDirectory: MigrationSource {
    public func loadMigrations() throws -> [Migration] { migrations }
}

/// Where the runner keeps its record of migrations (the changelog) and takes the lock that makes it the
/// only runner. Every write must be durable before it returns: the dirty marker is how a crash is seen.
public protocol MigrationStore {
    /// Every record, in version order.
    func records() throws -> [ChangelogRecord]
    /// Marks a migration as started (the dirty marker), keeping what an interrupted earlier attempt learnt.
    func markStarted(_ migration: Migration, state: ChangelogRecord.State) throws
    /// Remembers the indexes a `create_indexes` step found in place, before it sends its command.
    func recordPreexisting(_ version: Int, step: Int, names: [String]) throws
    func markApplied(_ migration: Migration, startedAt: Date, outcome: [String]) throws
    func markFailed(_ version: Int, startedAt: Date, error: String, outcome: [String]) throws
    /// The dirty marker of a `down`: the record stays until the reverse is done.
    func markReverting(_ version: Int) throws
    /// Accepts the file as it is now for an applied migration whose file changed.
    func acceptChecksum(_ version: Int, checksum: String) throws
    /// Forgets a migration: after `down`, or when the user decides to retry a failed one.
    func remove(_ version: Int) throws

    /// Takes the lock, waiting up to `wait` seconds; throws `MigrationError.lockBusy` naming the holder
    /// when it stays taken. The lease lives `timeToLive` seconds unless renewed.
    func acquireLock(
        tool: String, purpose: String, timeToLive: TimeInterval, wait: TimeInterval, onWait: (LockHolder) -> Void
    ) throws -> MigrationLockLease
}

/// A lock held by this runner.
public protocol MigrationLockLease: AnyObject, Sendable {
    /// Pushes the expiry forward; notes the loss when another runner took the lock after it expired.
    func renew()
    /// Why the lock was lost, if it was.
    var lossReason: String? { get }
    /// Gives the lock up if this runner still holds it.
    func release()
}

extension MigrationLock: MigrationLockLease {}

/// The changelog and lock as collections of the target database (`mongo_audit_migrations`, `mongo_audit_lock`).
/// Sendable: `knownDeployment`, its only mutable property, is read and written only while holding `guardDeployment`.
package final class MongoMigrationStore: MigrationStore, @unchecked Sendable {
    package let database: MongoDatabase
    let tool: String
    private let guardDeployment = NSLock()
    private var knownDeployment: Deployment?

    package init(database: MongoDatabase, tool: String) {
        self.database = database
        self.tool = tool
    }

    /// Asked of the server once, at the first write: whether it is a replica set decides the write concern.
    func deployment() throws -> Deployment {
        guardDeployment.lock()
        defer { guardDeployment.unlock() }
        if let knownDeployment { return knownDeployment }
        let deployment = try Deployment(client: database.client)
        knownDeployment = deployment
        return deployment
    }

    func changelog() throws -> Changelog { Changelog(database: database, deployment: try deployment(), tool: tool) }

    package func records() throws -> [ChangelogRecord] { try changelog().records() }
    package func markStarted(_ migration: Migration, state: ChangelogRecord.State) throws { try changelog().markStarted(migration, state: state) }
    package func recordPreexisting(_ version: Int, step: Int, names: [String]) throws {
        try changelog().recordPreexisting(version, step: step, names: names)
    }
    package func markApplied(_ migration: Migration, startedAt: Date, outcome: [String]) throws {
        try changelog().markApplied(migration, startedAt: startedAt, outcome: outcome)
    }
    package func markFailed(_ version: Int, startedAt: Date, error: String, outcome: [String]) throws {
        try changelog().markFailed(version, startedAt: startedAt, error: error, outcome: outcome)
    }
    package func markReverting(_ version: Int) throws { try changelog().markReverting(version) }
    package func acceptChecksum(_ version: Int, checksum: String) throws { try changelog().acceptChecksum(version, checksum: checksum) }
    package func remove(_ version: Int) throws { try changelog().remove(version) }

    package func acquireLock(
        tool: String, purpose: String, timeToLive: TimeInterval, wait: TimeInterval, onWait: (LockHolder) -> Void
    ) throws -> MigrationLockLease {
        let lock = MigrationLock(database: database, deployment: try deployment(), timeToLive: timeToLive)
        try? lock.ensureTTLIndex()  // housekeeping only; a concurrent runner may be creating it too
        try lock.acquire(tool: tool, purpose: purpose, wait: wait, onWait: onWait)
        return lock
    }
}

/// The lock a runner holds right now, for a thread other than the runner's: a process stopped by a signal
/// gives the lock up at once instead of leaving it to expire. The migration it was running keeps its dirty
/// record, as after a crash, and the next `apply` resumes it.
/// Sendable: `lease` and `heartbeat` are read and written only while holding `mutex`.
package final class HeldLock: @unchecked Sendable {
    private let mutex = NSLock()
    private var lease: MigrationLockLease?
    private var heartbeat: Heartbeat?

    package init() {}

    func hold(_ lease: MigrationLockLease, heartbeat: Heartbeat) {
        mutex.lock()
        self.lease = lease
        self.heartbeat = heartbeat
        mutex.unlock()
    }

    func forget() {
        mutex.lock()
        lease = nil
        heartbeat = nil
        mutex.unlock()
    }

    /// Stops renewing and releases the lock, if one is held; returns whether one was.
    @discardableResult
    package func releaseNow() -> Bool {
        mutex.lock()
        let held = (lease, heartbeat)
        lease = nil
        heartbeat = nil
        mutex.unlock()
        held.1?.stop()
        held.0?.release()
        return held.0 != nil
    }
}
