import Foundation
import MongoKit
import XCTest

@testable import MigrationKit

/// Carries out operations in memory: records what it was asked, and fails where a test says.
final class RecordingExecutor: MigrationExecutor {
    var executed: [MigrationOperation] = []
    /// Indexes that exist before any migration, by collection.
    var existing: [String: Set<String>] = [:]
    /// Errors to throw, in order, for operations that match.
    var failures: [(matches: (MigrationOperation) -> Bool, error: Error)] = []

    func prepare() throws {}

    func existingIndexes(collection: String, wanted: [IndexSpec]) throws -> [String] {
        wanted.map(\.name).filter { existing[collection, default: []].contains($0) }
    }

    func execute(_ operation: MigrationOperation, preexisting: Set<String>, derived: Bool) throws -> [String] {
        if let index = failures.firstIndex(where: { $0.matches(operation) }) {
            throw failures.remove(at: index).error
        }
        if derived, case .dropIndex(let collection, let name) = operation, preexisting.contains(name) {
            return ["\(collection): kept \(name)"]
        }
        executed.append(operation)
        return [operation.summary]
    }

    func fail(collection: String, with error: Error) {
        failures.append(({ $0.collection == collection }, error))
    }
}

/// The apply / down / resolve state machine with an in-memory store and executor: no server.
final class MigrationStateMachineTests: XCTestCase {
    var store = InMemoryMigrationStore(host: "test-host", pid: 42)
    var executor = RecordingExecutor()
    var log: [String] = []

    func migration(_ version: Int, _ text: String) throws -> Migration {
        try Migration(text: text, file: "\(version)_m.yml", version: version, title: "m\(version)", checksum: Migration.sha256(Data(text.utf8)))
    }

    /// Migration `version` hides index `name` of collection `c<version>`; its derived down unhides it.
    func hide(_ version: Int, _ extra: String = "") throws -> Migration {
        try migration(version, "up:\n  - hide_index: {collection: c\(version), name: i\(version)}\n" + extra)
    }

    func runner(_ migrations: [Migration], configure: (inout RunnerOptions) -> Void = { _ in }) -> MigrationRunner {
        var options = RunnerOptions(tool: "tests 1.0")
        options.log = { [unowned self] in self.log.append($0) }
        options.retryFor = 0
        options.retryInterval = 0.01
        configure(&options)
        return MigrationRunner(migrations: migrations, store: store, executor: executor, options: options)
    }

    var states: [Int: ChangelogRecord.State] {
        Dictionary(uniqueKeysWithValues: ((try? store.records()) ?? []).map { ($0.version, $0.state) })
    }

    func testApplyRunsPendingMigrationsInVersionOrderUpToTheTarget() throws {
        let migrations = try [hide(1), hide(2), hide(3)]
        XCTAssertEqual(try runner(migrations).apply(to: 2), [1, 2])
        XCTAssertEqual(executor.executed, [.hideIndex(collection: "c1", name: "i1"), .hideIndex(collection: "c2", name: "i2")])
        XCTAssertEqual(try runner(migrations).apply(), [3])
        XCTAssertEqual(states, [1: .applied, 2: .applied, 3: .applied])
        let record = try XCTUnwrap(try store.records().first)
        XCTAssertFalse(record.dirty)
        XCTAssertEqual(record.host, "test-host")
        XCTAssertEqual(record.outcome, [MigrationOperation.hideIndex(collection: "c1", name: "i1").summary])
        XCTAssertEqual(try runner(migrations).apply(), [], "nothing left")
        XCTAssertNil(store.currentHolder, "the lock is released")
        XCTAssertThrowsError(try runner(migrations).apply(to: 7)) { error in
            guard case MigrationError.unknownVersion(7, let known) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(known, [1, 2, 3])
        }
    }

    func testAFailureStopsTheRunLeavesADirtyRecordAndBlocksUntilResolved() throws {
        let migrations = try [hide(1), hide(2), hide(3)]
        let refused = MongoError.command(ServerError(code: 2, codeName: "BadValue", message: "no such index"))
        executor.fail(collection: "c2", with: refused)
        XCTAssertThrowsError(try runner(migrations).apply()) { error in
            guard case MigrationError.failed(2, _, .up, let underlying) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(underlying as? MongoError, refused)
            XCTAssertEqual((error as? MigrationError)?.serverError?.codeName, "BadValue")
        }
        XCTAssertEqual(executor.executed, [.hideIndex(collection: "c1", name: "i1")], "migration 3 never started")
        XCTAssertEqual(states, [1: .applied, 2: .failed])
        let failed = try XCTUnwrap(try store.records().last)
        XCTAssertTrue(failed.dirty)
        XCTAssertTrue(failed.error?.contains("no such index") ?? false, "\(failed)")

        XCTAssertThrowsError(try runner(migrations).apply()) { error in
            guard case MigrationError.blocked(.failed(2, "m2", let message)) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message?.contains("BadValue") ?? false, "\(error)")
            XCTAssertFalse("\(error)".contains("mongo-audit") || "\(error)".contains("--"), "library wording: \(error)")
        }
        XCTAssertEqual(executor.executed.count, 1, "a blocked apply sends nothing")

        XCTAssertEqual(try runner(migrations).resolve(version: 2), .forgotRecord(version: 2, state: .failed))
        XCTAssertEqual(states, [1: .applied])
        XCTAssertEqual(try runner(migrations).apply(), [2, 3])
        XCTAssertEqual(states, [1: .applied, 2: .applied, 3: .applied])
    }

    func testATransientErrorIsRetriedAndOneThatOutlastsRetryForLeavesAResumableRecord() throws {
        let migrations = try [hide(1), hide(2)]
        let steppedDown = MongoError.command(ServerError(code: 189, codeName: "PrimarySteppedDown", message: "stepped down"))
        executor.fail(collection: "c1", with: steppedDown)
        XCTAssertEqual(try runner(migrations) { $0.retryFor = 5 }.apply(), [1, 2], "retried until it went through")
        XCTAssertTrue(log.contains { $0.contains("retrying") }, "\(log)")

        let third = try hide(3)
        executor.fail(collection: "c3", with: MongoError.network("connection closed"))
        XCTAssertThrowsError(try runner(migrations + [third]).apply()) { error in
            guard case MigrationError.interrupted(3, .network) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(states[3], .applying, "the dirty marker stays")
        XCTAssertTrue(try XCTUnwrap(try store.records().last).dirty)
        XCTAssertEqual(try runner(migrations + [third]).apply(), [3], "apply resumes it")
        XCTAssertTrue(log.contains { $0.hasPrefix("resuming migration 3") }, "\(log)")
        XCTAssertEqual(states[3], .applied)
    }

    func testDownReversesTheLastMigrationOrAllAboveATarget() throws {
        let migrations = try [hide(1), hide(2), hide(3)]
        try runner(migrations).apply()
        executor.executed = []
        XCTAssertEqual(try runner(migrations).down(), [3])
        XCTAssertEqual(executor.executed, [.unhideIndex(collection: "c3", name: "i3")])
        XCTAssertEqual(states, [1: .applied, 2: .applied])
        XCTAssertEqual(try runner(migrations).down(to: 0), [2, 1], "newest first")
        XCTAssertEqual(executor.executed.suffix(2), [.unhideIndex(collection: "c2", name: "i2"), .unhideIndex(collection: "c1", name: "i1")])
        XCTAssertEqual(states, [:])
        XCTAssertEqual(try runner(migrations).down(), [], "nothing recorded, nothing to reverse")
    }

    func testADerivedDownKeepsIndexesThatExistedBefore() throws {
        let create = try migration(1, "up:\n  - create_indexes: {collection: c, indexes: [{keys: {a: 1}}, {keys: {b: 1}}]}\n")
        executor.existing["c"] = ["b_1"]
        try runner([create]).apply()
        XCTAssertEqual(try store.records().first?.preexisting, ["0": ["b_1"]])
        executor.executed = []
        try runner([create]).down()
        XCTAssertEqual(executor.executed, [.dropIndex(collection: "c", name: "a_1")], "b_1 was there before the migration")
    }

    func testAFailedDownStaysRecordedAndBlocksApply() throws {
        let migrations = try [hide(1)]
        try runner(migrations).apply()
        executor.fail(collection: "c1", with: MongoError.command(ServerError(code: 27, codeName: "IndexNotFound", message: "gone")))
        XCTAssertThrowsError(try runner(migrations).down()) { error in
            guard case MigrationError.failed(1, _, .down, _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(states, [1: .failed])
        XCTAssertThrowsError(try runner(migrations).apply()) { error in
            guard case MigrationError.blocked(.failed(1, _, _)) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try runner(migrations).down(), [1], "down settles it too")
        XCTAssertEqual(states, [:])
    }

    func testAHalfRevertedMigrationBlocksApplyUntilDownFinishesIt() throws {
        let migrations = try [hide(1)]
        try runner(migrations).apply()
        try store.markReverting(1)  // a down that died after its dirty marker
        XCTAssertThrowsError(try runner(migrations).apply()) { error in
            guard case MigrationError.blocked(.halfReverted(1, "m1")) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try runner(migrations).down(), [1])
        XCTAssertEqual(try runner(migrations).apply(), [1])
    }

    func testAChangedFileBlocksApplyAndDownUntilAccepted() throws {
        let original = try hide(1)
        try runner([original]).apply()
        let edited = try hide(1, "# edited\n")
        XCTAssertThrowsError(try runner([edited, try hide(2)]).apply()) { error in
            guard case MigrationError.blocked(.fileChanged(1, _, let recorded, let current, true)) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(recorded, original.checksum)
            XCTAssertEqual(current, edited.checksum)
        }
        XCTAssertThrowsError(try runner([edited]).down()) { error in
            guard case MigrationError.blocked(.fileChanged(1, _, _, _, _)) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try runner([]).down()) { error in
            guard case MigrationError.blocked(.fileMissing(1, "1_m.yml")) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try runner([edited]).resolve(version: 1), .acceptedChangedFile(version: 1, file: edited.file))
        XCTAssertEqual(try runner([edited]).resolve(version: 1), .unchanged(version: 1))
        XCTAssertEqual(try runner([edited, try hide(2)]).apply(), [2])
        XCTAssertThrowsError(try runner([edited]).resolve(version: 9)) { error in
            guard case MigrationError.nothingToResolve(9, .noRecord) = error else { return XCTFail("\(error)") }
        }
    }

    func testALockHeldByAnotherRunnerBlocksUntilItExpires() throws {
        let expiry = Date().addingTimeInterval(0.5)
        let other = LockHolder(host: "elsewhere", pid: 7, tool: "tests 0.9", purpose: "apply", acquiredAt: Date(), expiresAt: expiry)
        store.holdLock(as: other)
        XCTAssertThrowsError(try runner([try hide(1)]).apply()) { error in
            guard case MigrationError.lockBusy(let holder, 0) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(holder.host, "elsewhere")
            XCTAssertEqual(holder.pid, 7)
            XCTAssertEqual(holder.expiresAt, expiry)
        }
        XCTAssertTrue(executor.executed.isEmpty)
        XCTAssertEqual(states, [:], "nothing recorded without the lock")
        XCTAssertThrowsError(try runner([try hide(1)]).resolve(version: 1)) { error in
            guard case MigrationError.lockBusy = error else { return XCTFail("\(error)") }
        }

        XCTAssertEqual(try runner([try hide(1)]) { $0.lockWait = 5 }.apply(), [1], "taken once expired")
        XCTAssertTrue(log.contains { $0.contains("waiting for the migration lock, held by elsewhere pid 7") }, "\(log)")
    }
}

/// Which errors the runner retries: by kind, label and code.
final class RetryPolicyTests: XCTestCase {
    func server(_ code: Int, labels: Set<String> = [], kind: ServerError.Kind = .command) -> MongoError {
        .command(ServerError(kind: kind, code: code, message: "m", labels: labels))
    }

    func testConnectionLevelErrorsAreTransient() {
        XCTAssertTrue(RetryPolicy.isTransient(MongoError.network("x")))
        XCTAssertTrue(RetryPolicy.isTransient(MongoError.serverSelection("x")))
        XCTAssertTrue(RetryPolicy.isTransient(MongoError.timeout("x")))
        XCTAssertFalse(RetryPolicy.isTransient(MongoError.authentication("x")))
        XCTAssertFalse(RetryPolicy.isTransient(MongoError.invalidURI("x")))
        XCTAssertFalse(RetryPolicy.isTransient(MongoError.other(domain: 1, code: 2, message: "x")))
        XCTAssertFalse(RetryPolicy.isTransient(IndexBuildError(message: "conflict")))
    }

    func testTheDocumentedRetryableCodesAreTransientWhateverTheKind() {
        for code in [6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436] {
            XCTAssertTrue(RetryPolicy.isTransient(server(code)), "\(code)")
            XCTAssertTrue(RetryPolicy.isTransient(server(code, kind: .writeConcernError)), "\(code)")
        }
        for code in [2, 11000, 85, 86, 26, 27, 13, 64] {  // BadValue, DuplicateKey, index conflicts, not found, Unauthorized, WriteConcernFailed
            XCTAssertFalse(RetryPolicy.isTransient(server(code)), "\(code)")
        }
    }

    func testLabelsMakeAnyCodeTransient() {
        XCTAssertTrue(RetryPolicy.isTransient(server(64, labels: ["RetryableWriteError"], kind: .writeConcernError)))
        XCTAssertTrue(RetryPolicy.isTransient(server(251, labels: ["TransientTransactionError"])))
        XCTAssertFalse(RetryPolicy.isTransient(server(251, labels: ["NoWritesPerformed"])))
    }

    func testTheMessageDecidesNothing() {
        let wordy = MongoError.command(ServerError(code: 2, codeName: "BadValue", message: "not primary, node is recovering, timed out"))
        XCTAssertFalse(RetryPolicy.isTransient(wordy))
    }
}
