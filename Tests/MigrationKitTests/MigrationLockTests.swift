import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import MigrationKit

/// The lock: atomic under contention, naming its holder, renewed while held, taken over once expired.
final class MigrationLockTests: MigrationTestCase {
    func lock(ttl: TimeInterval = 30, client: MongoClient? = nil) throws -> MigrationLock {
        let database = (client ?? self.client).database(self.database.name)
        return MigrationLock(database: database, deployment: try Deployment(client: database.client), timeToLive: ttl)
    }

    func testExactlyOneOfManySimultaneousRunnersTakesTheLock() throws {
        for _ in 0..<5 {
            let locks = try (0..<8).map { _ in try lock(client: try TestServer.client()) }
            let results = ResultBox()
            DispatchQueue.concurrentPerform(iterations: locks.count) { index in
                results.append(Result { try locks[index].tryAcquire(tool: "t", purpose: "test") })
            }
            let outcomes = try results.values.map { try $0.get() }
            XCTAssertEqual(outcomes.filter { $0 == nil }.count, 1, "exactly one holder")
            locks.forEach { $0.release() }
        }
    }

    func testABusyLockNamesItsHolderAndIsRenewedWhileHeld() throws {
        let holder = try lock(ttl: 2)
        try holder.acquire(tool: "mongo-audit 9.9", purpose: "apply", wait: 0)
        let heartbeat = Heartbeat(interval: 0.5) { holder.renew() }
        Thread.sleep(forTimeInterval: 3)  // longer than the TTL: only renewal keeps it
        XCTAssertThrowsError(try lock().acquire(tool: "other", purpose: "apply", wait: 0)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("another runner holds the migration lock"), text)
            XCTAssertTrue(text.contains("\(ProcessInfo.processInfo.hostName) pid \(getpid()) (mongo-audit 9.9, apply) since"), text)
        }
        heartbeat.stop()
        holder.release()
        try lock().acquire(tool: "other", purpose: "apply", wait: 0)
    }

    func testALockWhoseHolderDiedExpiresAndAWaitingRunnerTakesIt() throws {
        let dead = try lock(ttl: 1)
        try dead.acquire(tool: "t", purpose: "apply", wait: 0)  // never renewed nor released, as after a crash
        let next = try lock()
        var waited = false
        try next.acquire(tool: "t", purpose: "apply", wait: 30) { _ in waited = true }
        XCTAssertTrue(waited)
        dead.renew()
        XCTAssertEqual(dead.lossReason, "the lock expired and was taken by another runner")
    }
}

/// Collects results from concurrent threads.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<LockHolder?, Error>] = []
    func append(_ item: Result<LockHolder?, Error>) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }
    var values: [Result<LockHolder?, Error>] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
