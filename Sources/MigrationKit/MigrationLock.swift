import Foundation
import MongoKit

/// Who holds the migration lock, as its document says.
public struct LockHolder: Sendable, CustomStringConvertible {
    public let host: String
    public let pid: Int
    public let tool: String
    public let purpose: String
    public let acquiredAt: Date?
    public let expiresAt: Date?

    public init(host: String, pid: Int, tool: String, purpose: String, acquiredAt: Date?, expiresAt: Date?) {
        self.host = host
        self.pid = pid
        self.tool = tool
        self.purpose = purpose
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
    }

    init(document: Document) {
        host = document["host"]?.stringValue ?? "?"
        pid = document["pid"]?.intValue ?? 0
        tool = document["tool"]?.stringValue ?? "?"
        purpose = document["purpose"]?.stringValue ?? "?"
        acquiredAt = document["acquiredAt"]?.dateValue
        expiresAt = document["expiresAt"]?.dateValue
    }

    public var description: String {
        let formatter = ISO8601DateFormatter()
        let since = acquiredAt.map { " since \(formatter.string(from: $0))" } ?? ""
        let until = expiresAt.map { ", expiring at \(formatter.string(from: $0)) unless renewed" } ?? ""
        return "\(host) pid \(pid) (\(tool), \(purpose))\(since)\(until)"
    }
}

/// One runner at a time per database. The lock is one document, `_id: "migrations"` (unique by nature),
/// taken by one atomic upsert that inserts it when missing and takes it over only when expired: there is
/// no check-then-insert window. Expiry is judged by the server's clock (`$$NOW`), so clock skew between
/// runners does not matter; the holder renews it while it works, and a holder that dies stops renewing.
/// Sendable: `lostReason`, its only mutable property, is read and written only while holding `lost`.
package final class MigrationLock: @unchecked Sendable {
    package static let collectionName = "mongo_audit_lock"
    static let id: BSONValue = "migrations"

    let database: MongoDatabase
    let deployment: Deployment
    let timeToLive: TimeInterval
    let token = UUID().uuidString
    private let lost = NSLock()
    private var lostReason: String?

    package init(database: MongoDatabase, deployment: Deployment, timeToLive: TimeInterval) {
        self.database = database
        self.deployment = deployment
        self.timeToLive = timeToLive
    }

    var collection: MongoCollection { database.collection(Self.collectionName) }
    private var ttlMilliseconds: BSONValue { .int64(Int64(timeToLive * 1000)) }

    /// Takes the lock, waiting up to `wait` seconds for its holder to release it or let it expire.
    /// Throws `MigrationError.lockBusy` naming the holder when it stays taken.
    package func acquire(tool: String, purpose: String, wait: TimeInterval, onWait: (LockHolder) -> Void = { _ in }) throws {
        let deadline = Date().addingTimeInterval(wait)
        var told = false
        while true {
            guard let holder = try tryAcquire(tool: tool, purpose: purpose) else { return }
            guard Date() < deadline else { throw MigrationError.lockBusy(holder: holder, waited: wait) }
            if !told { onWait(holder) }
            told = true
            Thread.sleep(forTimeInterval: min(0.25, max(0.01, deadline.timeIntervalSinceNow)))
        }
    }

    /// One atomic attempt: nil when taken, else who holds it. A single `findAndModify` upsert on the lock's
    /// `_id` takes the lock only when it is missing or expired (judged in the update pipeline, against the
    /// server's `$$NOW`) and returns the document as it is afterwards: this runner holds the lock exactly
    /// when the returned token is its own.
    func tryAcquire(tool: String, purpose: String) throws -> LockHolder? {
        func mine(_ value: BSONValue, otherwise field: String) -> BSONValue {
            ["$cond": ["$_free", ["$literal": value], .string("$" + field)]]
        }
        let pipeline: [BSONValue] = [
            ["$set": ["_free": ["$or": [["$eq": [["$type": "$expiresAt"], "missing"]], ["$lt": ["$expiresAt", "$$NOW"]]]]]],
            [
                "$set": [
                    "token": mine(.string(token), otherwise: "token"), "host": mine(.string(deployment.host), otherwise: "host"),
                    "pid": mine(.int64(Int64(deployment.pid)), otherwise: "pid"), "tool": mine(.string(tool), otherwise: "tool"),
                    "purpose": mine(.string(purpose), otherwise: "purpose"),
                    "acquiredAt": ["$cond": ["$_free", "$$NOW", "$acquiredAt"]],
                    "expiresAt": ["$cond": ["$_free", ["$add": ["$$NOW", ttlMilliseconds]], "$expiresAt"]],
                ]
            ],
            ["$unset": "_free"],
        ]
        let command = deployment.withWriteConcern([
            "findAndModify": .string(Self.collectionName), "query": ["_id": Self.id], "update": .array(pipeline),
            "upsert": true, "new": true,
        ])
        // Two first-ever upserts can race on the insert; the loser sees DuplicateKey and simply tries again.
        for _ in 0..<3 {
            do {
                let current = try database.runWriteCommand(command)["value"]?.documentValue ?? Document()
                return current["token"]?.stringValue == token ? nil : LockHolder(document: current)
            } catch MongoError.command(let error) where error.code == 11000 {  // DuplicateKey
                continue
            }
        }
        return LockHolder(document: ["host": "?", "purpose": "changing hands"])
    }

    /// Pushes the expiry forward; records the loss when another runner took the lock after it expired.
    package func renew() {
        do {
            let reply = try database.runWriteCommand(
                deployment.withWriteConcern([
                    "update": .string(Self.collectionName),
                    "updates": [
                        [
                            "q": ["_id": Self.id, "token": .string(token)],
                            "u": [["$set": ["expiresAt": ["$add": ["$$NOW", ttlMilliseconds]]]]],
                        ]
                    ],
                ]))
            if reply["n"]?.intValue == 0 { markLost("the lock expired and was taken by another runner") }
        } catch {
            // A failed renewal (server restarting, failover) is retried at the next beat; the lock only
            // counts as lost when the server says so.
        }
    }

    /// Why the lock was lost, if it was.
    package var lossReason: String? {
        lost.lock()
        defer { lost.unlock() }
        return lostReason
    }

    private func markLost(_ reason: String) {
        lost.lock()
        lostReason = reason
        lost.unlock()
    }

    /// Releases the lock if this runner still holds it.
    package func release() {
        _ = try? database.runWriteCommand(
            deployment.withWriteConcern([
                "delete": .string(Self.collectionName), "deletes": [["q": ["_id": Self.id, "token": .string(token)], "limit": 1]],
            ]))
    }

    /// A TTL index removes locks long expired (housekeeping only: expiry itself is checked on every acquire).
    func ensureTTLIndex() throws {
        let ttl = IndexSpec(keys: [IndexKey(field: "expiresAt", direction: 1)], name: "expiresAt_ttl", expireAfterSeconds: 0)
        if try collection.listIndexes().contains(where: { $0.name == ttl.name }) { return }
        try collection.createIndexes([ttl])
    }
}
