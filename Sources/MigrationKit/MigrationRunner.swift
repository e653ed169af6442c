import Foundation
import MongoKit

/// Applies and reverses migrations on one database, one runner at a time, with a record of each.
public final class MigrationRunner {
    let database: MongoDatabase
    let migrations: [Migration]
    let options: RunnerOptions

    public init(database: MongoDatabase, migrations: [Migration], options: RunnerOptions) {
        self.database = database
        self.migrations = migrations
        self.options = options
    }

    // MARK: apply

    /// Applies the pending migrations up to `target` in version order, resuming one a crash interrupted.
    /// Returns the versions applied.
    @discardableResult
    public func apply(to target: Int? = nil) throws -> [Int] {
        try checkTarget(target)
        return try withLock(purpose: "apply") { deployment, lock, changelog in
            let records = try recordsByVersion(changelog)
            try checkNothingBlocksApply(records)
            let pending = migrations.filter { migration in
                migration.version <= (target ?? Int.max) && (records[migration.version].map { $0.state == .applying } ?? true)
            }
            if pending.isEmpty { options.log("nothing to apply: every migration\(target.map { " up to \($0)" } ?? "") is applied") }
            for migration in pending {
                try checkLock(lock)
                try applyOne(migration, previous: records[migration.version], changelog: changelog, deployment: deployment)
            }
            return pending.map(\.version)
        }
    }

    private func applyOne(_ migration: Migration, previous: ChangelogRecord?, changelog: Changelog, deployment: Deployment) throws {
        let label = "\(migration.version) \(migration.title)"
        if let previous {
            options.log("resuming migration \(label), interrupted after it started \(ISO8601DateFormatter().string(from: previous.startedAt)) on \(previous.host)")
        } else {
            options.log("applying migration \(label)")
        }
        let started = Date()
        try retrying(migration.version) { try changelog.markStarted(migration, state: .applying) }
        options.events(.started(version: migration.version))
        var preexisting = previous?.preexisting ?? [:]
        var outcome: [String] = []
        try runSteps(of: migration, outcome: &outcome, changelog: changelog) { index, operation in
            if case .createIndexes(let collection, let indexes) = operation, preexisting[String(index)] == nil {
                let names = try IndexBuilder.inspect(database.collection(collection), wanted: indexes).existing.map(\.name)
                try changelog.recordPreexisting(migration.version, step: index, names: names)
                preexisting[String(index)] = names
            }
            return try execute(operation, deployment: deployment, preexisting: Set(preexisting[String(index)] ?? []))
        }
        options.events(.willRecord(version: migration.version))
        try retrying(migration.version) { try changelog.markApplied(migration, startedAt: started, outcome: outcome) }
        options.events(.recorded(version: migration.version))
        outcome.forEach { options.log("  " + $0) }
        options.log(String(format: "applied migration %@ in %.1f s", label, Date().timeIntervalSince(started)))
    }

    /// Runs the up steps; transient failures are retried, others recorded as the migration's failure.
    private func runSteps(
        of migration: Migration, outcome: inout [String], changelog: Changelog,
        _ run: (Int, MigrationOperation) throws -> [String]
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
            let message = String(describing: error)
            try? retrying(migration.version) {
                try changelog.markFailed(migration.version, startedAt: started, error: message, outcome: outcome)
            }
            throw MigrationError.failed(version: migration.version, title: migration.title, message: message)
        }
    }

    /// Sends one operation, after the checks that make it safe to repeat.
    /// `preexisting`: indexes there before the migration; a derived drop keeps them, a create reports them.
    func execute(_ operation: MigrationOperation, deployment: Deployment, preexisting: Set<String> = [], derived: Bool = false) throws -> [String] {
        switch operation {
        case .createIndexes(let collection, let indexes):
            let builder = IndexBuilder(database: database, commitQuorum: options.commitQuorum, progress: options.progress, events: options.events)
            return try builder.build(collection: collection, wanted: indexes, preexisting: preexisting)
        case .dropIndex(let collection, let name):
            if derived, preexisting.contains(name) { return ["\(collection): kept \(name), it existed before the migration"] }
            do {
                try send(operation.command())
                return ["\(collection): dropped \(name)"]
            } catch MongoError.command(let code, _, _) where code == 27 || code == 26 {  // IndexNotFound, NamespaceNotFound
                return ["\(collection): \(name) does not exist (no-op)"]
            }
        case .hideIndex, .unhideIndex, .setValidator:
            do {
                try send(operation.command())
            } catch MongoError.command(code: 26, _, _) where isSetValidator(operation) {
                // The collection does not exist yet: create it with the validator.
                var create = operation.command()
                create.set("collMod", nil)
                try send(Document([("create", .string(operation.collection))] + create.elements))
            }
            return [operation.summary]
        }
    }

    private func isSetValidator(_ operation: MigrationOperation) -> Bool {
        if case .setValidator = operation { return true }
        return false
    }

    private func send(_ command: Document) throws {
        options.events(.willSend(command))
        try database.runCommand(command)
        options.events(.sent(command))
    }

    // MARK: down

    /// Reverses the last recorded migration, or every one above `target`, newest first. A failed or
    /// interrupted migration counts too: reversing it is one of the ways to settle it.
    @discardableResult
    public func down(to target: Int? = nil) throws -> [Int] {
        try withLock(purpose: "down") { deployment, lock, changelog in
            let records = try changelog.records().sorted { $0.version > $1.version }
            let targets = target.map { target in records.filter { $0.version > target } } ?? Array(records.prefix(1))
            if targets.isEmpty { options.log("nothing to reverse: no migration\(target.map { " above \($0)" } ?? "") is recorded") }
            for record in targets {
                try checkLock(lock)
                try revert(record, changelog: changelog, deployment: deployment)
            }
            return targets.map(\.version)
        }
    }

    private func revert(_ record: ChangelogRecord, changelog: Changelog, deployment: Deployment) throws {
        guard let migration = migrations.first(where: { $0.version == record.version }) else {
            throw MigrationError.blocked("the file of migration \(record.version) (\(record.file)) is gone; restore it to reverse the migration")
        }
        guard migration.checksum == record.checksum else {
            throw MigrationError.blocked(
                "\(migration.file) changed since migration \(record.version) was applied, so its reverse may not match what was done; "
                    + "restore the file, or accept it with `mongo-audit migrate resolve \(record.version)`")
        }
        let label = "\(migration.version) \(migration.title)"
        options.log(record.state == .applied ? "reverting migration \(label)" : "reverting migration \(label) (recorded as \(record.state.rawValue))")
        let started = Date()
        try retrying(migration.version) { try changelog.markReverting(migration.version) }
        options.events(.started(version: migration.version))
        var outcome: [String] = []
        do {
            for (operation, kept) in reverseSteps(of: migration, preexisting: record.preexisting) {
                outcome += try retrying(migration.version) {
                    try execute(operation, deployment: deployment, preexisting: kept, derived: migration.downIsDerived)
                }
            }
        } catch let error where !(error is MigrationError) {
            let message = String(describing: error)
            try? retrying(migration.version) { try changelog.markFailed(migration.version, startedAt: started, error: "down: " + message, outcome: outcome) }
            throw MigrationError.failed(version: migration.version, title: migration.title, message: "down: " + message)
        }
        options.events(.willRecord(version: migration.version))
        try retrying(migration.version) { try changelog.remove(migration.version) }
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

    /// Settles a migration `apply` refuses to pass: forgets a failed or interrupted record so that `apply`
    /// runs it again, or accepts the changed file of an applied one. Returns what it did.
    public func resolve(version: Int) throws -> String {
        try withLock(purpose: "resolve") { _, _, changelog in
            guard let record = try changelog.records().first(where: { $0.version == version }) else {
                throw MigrationError.invalidRequest("migration \(version) has no record; nothing to resolve")
            }
            switch record.state {
            case .applied:
                guard let migration = migrations.first(where: { $0.version == version }) else {
                    throw MigrationError.invalidRequest("the file of migration \(version) is gone; nothing to accept")
                }
                guard migration.checksum != record.checksum else { return "migration \(version) is applied and unchanged; nothing to resolve" }
                try changelog.acceptChecksum(version, checksum: migration.checksum)
                return "accepted the changed \(migration.file) as applied migration \(version)"
            case .failed, .applying, .reverting:
                try changelog.remove(version)
                return "forgot the \(record.state.rawValue) record of migration \(version); `mongo-audit migrate apply` runs it again "
                    + "(its operations skip what is already done)"
            }
        }
    }

    // MARK: shared

    func checkTarget(_ target: Int?) throws {
        if let target, !migrations.contains(where: { $0.version == target }) {
            throw MigrationError.invalidRequest("there is no migration \(target) (known: \(migrations.map { String($0.version) }.joined(separator: ", ")))")
        }
    }

    private func recordsByVersion(_ changelog: Changelog) throws -> [Int: ChangelogRecord] {
        Dictionary(try changelog.records().map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// `apply` stops at failed, half-reverted and changed migrations until the user decides.
    func checkNothingBlocksApply(_ records: [Int: ChangelogRecord]) throws {
        for record in records.values.sorted(by: { $0.version < $1.version }) {
            let file = migrations.first { $0.version == record.version }
            switch record.state {
            case .failed:
                throw MigrationError.blocked(
                    "migration \(record.version) (\(record.title)) failed: \(record.error ?? "unknown error")\n"
                        + "fix the cause, then `mongo-audit migrate resolve \(record.version)` to run it again, "
                        + "or `mongo-audit migrate down` to undo what it did")
            case .reverting:
                throw MigrationError.blocked(
                    "migration \(record.version) (\(record.title)) was being reverted when it stopped; "
                        + "finish with `mongo-audit migrate down`, or `mongo-audit migrate resolve \(record.version)`")
            case .applied, .applying:
                if let file, file.checksum != record.checksum {
                    throw MigrationError.blocked(
                        "\(file.file) changed since migration \(record.version) was \(record.state == .applied ? "applied" : "started") "
                            + "(checksum \(record.checksum.prefix(12)) -> \(file.checksum.prefix(12))); restore the file, "
                            + "or accept it with `mongo-audit migrate resolve \(record.version)`")
                }
            }
        }
    }

    private func checkLock(_ lock: MigrationLock) throws {
        if let reason = lock.lossReason { throw MigrationError.lockLost(reason) }
    }

    /// Runs `body` holding the lock, renewed on a heartbeat until `body` returns.
    private func withLock<T>(purpose: String, _ body: (Deployment, MigrationLock, Changelog) throws -> T) throws -> T {
        let deployment = try Deployment(client: database.client)
        if options.commitQuorum != nil, !deployment.isReplicaSet {
            throw MigrationError.invalidRequest("a commit quorum needs a replica set; this server is a standalone")
        }
        let lock = MigrationLock(database: database, deployment: deployment, timeToLive: options.lockTimeToLive)
        try? lock.ensureTTLIndex()  // housekeeping only; a concurrent runner may be creating it too
        try lock.acquire(tool: options.tool, purpose: purpose, wait: options.lockWait) { holder in
            options.log("waiting for the migration lock, held by \(holder)")
        }
        options.events(.lockAcquired)
        let heartbeat = Heartbeat(interval: options.lockTimeToLive / 3) { lock.renew() }
        defer {
            heartbeat.stop()
            lock.release()
        }
        return try body(deployment, lock, Changelog(database: database, deployment: deployment, tool: options.tool))
    }

    /// Repeats `body` through failovers and restarts for up to `retryFor` seconds; its operations are
    /// idempotent, so a repeat finishes what the interrupted attempt started. Then stops with a dirty record.
    private func retrying<T>(_ version: Int, _ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(options.retryFor)
        var told = false
        while true {
            do {
                return try body()
            } catch let error as MongoError where isTransient(error) {
                guard Date() < deadline else { throw MigrationError.interrupted(version: version, underlying: error) }
                if !told { options.log("the server is not available (\(error)); retrying for up to \(Int(options.retryFor)) s") }
                told = true
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }
}
