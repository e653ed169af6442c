import Foundation

/// A `MigrationStore` in memory, for tests and dry runs: the same record and lock rules, nothing durable.
/// One instance is one "database"; runners that share it contend for its lock.
/// Sendable: its mutable state (`recordsByVersion`, `lockHolder`) is touched only inside `withState`,
/// which holds `guardState`.
package final class InMemoryMigrationStore: MigrationStore, @unchecked Sendable {
    /// Who this store says runs (written into records and the lock).
    package let host: String
    package let pid: Int
    private let guardState = NSLock()
    private var recordsByVersion: [Int: ChangelogRecord] = [:]
    private var lockHolder: (token: UUID, holder: LockHolder)?

    package init(host: String = "memory", pid: Int = 0) {
        self.host = host
        self.pid = pid
    }

    private func withState<T>(_ body: () throws -> T) rethrows -> T {
        guardState.lock()
        defer { guardState.unlock() }
        return try body()
    }

    package func records() throws -> [ChangelogRecord] {
        withState { recordsByVersion.values.sorted { $0.version < $1.version } }
    }

    package func markStarted(_ migration: Migration, state: ChangelogRecord.State) throws {
        withState {
            var record =
                recordsByVersion[migration.version]
                ?? ChangelogRecord(
                    version: migration.version, title: migration.title, file: migration.file, checksum: migration.checksum,
                    state: state, dirty: true, startedAt: Date(), host: host, pid: pid, tool: "")
            record.title = migration.title
            record.file = migration.file
            record.checksum = migration.checksum
            record.state = state
            record.dirty = true
            record.startedAt = Date()
            record.host = host
            record.pid = pid
            record.tool = lockHolder?.holder.tool ?? record.tool
            record.error = nil
            record.finishedAt = nil
            record.durationSeconds = nil
            recordsByVersion[migration.version] = record
        }
    }

    package func recordPreexisting(_ version: Int, step: Int, names: [String]) throws {
        try change(version) { $0.preexisting[String(step)] = names }
    }

    package func markApplied(_ migration: Migration, startedAt: Date, outcome: [String]) throws {
        try change(migration.version) { record in
            record.state = .applied
            record.dirty = false
            record.finishedAt = Date()
            record.durationSeconds = Date().timeIntervalSince(startedAt)
            record.outcome = outcome
        }
    }

    package func markFailed(_ version: Int, startedAt: Date, error: String, outcome: [String]) throws {
        try change(version) { record in
            record.state = .failed
            record.dirty = true
            record.finishedAt = Date()
            record.error = error
            record.durationSeconds = Date().timeIntervalSince(startedAt)
            record.outcome = outcome
        }
    }

    package func markReverting(_ version: Int) throws {
        try change(version) { record in
            record.state = .reverting
            record.dirty = true
        }
    }

    package func acceptChecksum(_ version: Int, checksum: String) throws {
        try change(version) { $0.checksum = checksum }
    }

    package func remove(_ version: Int) throws {
        _ = withState { recordsByVersion.removeValue(forKey: version) }
    }

    /// Updates an existing record; like an update without upsert, a missing one is left missing.
    private func change(_ version: Int, _ body: (inout ChangelogRecord) -> Void) throws {
        withState {
            guard var record = recordsByVersion[version] else { return }
            body(&record)
            recordsByVersion[version] = record
        }
    }

    // MARK: lock

    /// Puts the lock in another holder's hands, as if another runner held it until `expiresAt`.
    package func holdLock(as holder: LockHolder) {
        withState { lockHolder = (UUID(), holder) }
    }

    package func acquireLock(
        tool: String, purpose: String, timeToLive: TimeInterval, wait: TimeInterval, onWait: (LockHolder) -> Void
    ) throws -> MigrationLockLease {
        let deadline = Date().addingTimeInterval(wait)
        var told = false
        while true {
            let token = UUID()
            let busy: LockHolder? = withState {
                if let current = lockHolder, (current.holder.expiresAt ?? .distantFuture) > Date() { return current.holder }
                lockHolder = (
                    token,
                    LockHolder(
                        host: host, pid: pid, tool: tool, purpose: purpose, acquiredAt: Date(), expiresAt: Date().addingTimeInterval(timeToLive))
                )
                return nil
            }
            guard let busy else { return Lease(store: self, token: token, timeToLive: timeToLive) }
            guard Date() < deadline else { throw MigrationError.lockBusy(holder: busy, waited: wait) }
            if !told { onWait(busy) }
            told = true
            Thread.sleep(forTimeInterval: min(0.05, max(0.001, deadline.timeIntervalSinceNow)))
        }
    }

    /// The current holder, if the lock is held and not expired.
    package var currentHolder: LockHolder? {
        withState { lockHolder.flatMap { ($0.holder.expiresAt ?? .distantFuture) > Date() ? $0.holder : nil } }
    }

    /// Sendable: `lost`, its only mutable property, is read and written only inside the store's `withState`.
    final class Lease: MigrationLockLease, @unchecked Sendable {
        let store: InMemoryMigrationStore
        let token: UUID
        let timeToLive: TimeInterval
        private var lost: String?

        init(store: InMemoryMigrationStore, token: UUID, timeToLive: TimeInterval) {
            self.store = store
            self.token = token
            self.timeToLive = timeToLive
        }

        func renew() {
            store.withState {
                guard let current = store.lockHolder, current.token == token else {
                    lost = "the lock expired and was taken by another runner"
                    return
                }
                let holder = current.holder
                store.lockHolder = (
                    token,
                    LockHolder(
                        host: holder.host, pid: holder.pid, tool: holder.tool, purpose: holder.purpose, acquiredAt: holder.acquiredAt,
                        expiresAt: Date().addingTimeInterval(timeToLive))
                )
            }
        }

        var lossReason: String? { store.withState { lost } }

        func release() {
            store.withState { if store.lockHolder?.token == token { store.lockHolder = nil } }
        }
    }
}
