import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

@testable import MigrationKit

/// The server dies (SIGKILL) at chosen points of `apply`; a rerun after restart must end with exactly the
/// migration's indexes, a consistent record and every document still there.
final class MigrationCrashTests: MigrationTestCase {
    enum KillPoint: String, CaseIterable { case beforeCommand, duringBuild, afterBuildBeforeRecord }

    func testKillingTheServerAtEachPointThenRerunning() throws {
        let server = try LaunchedMongod()
        defer { server.stop() }
        let migration = try migration(1, Self.criticalIndexes)
        for point in KillPoint.allCases {
            let name = "crash_\(point.rawValue.lowercased())"
            let documents = try SampleDatabase(recordingCount: 20_000).create(in: try server.client().database(name)).recordings
            let client = try server.client()
            if point == .duringBuild {
                try client.database("admin").runCommand(["configureFailPoint": "hangAfterStartingIndexBuild", "mode": "alwaysOn"])
            }
            let killer = runner([migration], on: client.database(name)) { options in
                options.retryFor = 0
                options.lockTimeToLive = 2  // the dead run cannot release it; it must expire
                options.events = { event in
                    switch (point, event) {
                    case (.beforeCommand, .willSend), (.afterBuildBeforeRecord, .willRecord):
                        try? server.kill()
                    case (.duringBuild, .willSend):
                        // The build hangs on the failpoint once started; kill it there, seen from another connection.
                        DispatchQueue.global().async {
                            let watcher = try? server.client()
                            let filter: Document = ["ns": .string("\(name).recordings"), "desc": ["$regex": "^IndexBuildsCoordinator"]]
                            for _ in 0..<200 {
                                if let ops = try? watcher?.currentOperations(matching: filter), !ops.isEmpty { break }
                                Thread.sleep(forTimeInterval: 0.05)
                            }
                            try? server.kill()
                        }
                    default: break
                    }
                }
            }
            XCTAssertThrowsError(try killer.apply(), point.rawValue) { error in
                XCTAssertTrue(String(describing: error).contains("was interrupted"), "\(point): \(error)")
            }
            try server.start()
            let restarted = try server.client().database(name)
            XCTAssertEqual(try records(in: restarted).first?.state, .applying, "\(point): the dirty marker is visible")
            XCTAssertEqual(try MigrationPlanner(database: restarted, migrations: [migration]).statuses().map(\.state), [.interrupted])

            try runner([migration], on: restarted) { $0.lockWait = 30 }.apply()
            XCTAssertEqual(try indexNames(in: restarted), Self.migratedIndexes, "\(point)")
            let record = try XCTUnwrap(try records(in: restarted).first)
            XCTAssertEqual(record.state, .applied, "\(point)")
            XCTAssertFalse(record.dirty)
            XCTAssertEqual(try records(in: restarted).count, 1)
            XCTAssertEqual(try restarted.collection("recordings").countDocuments(), documents, "\(point): no document lost")
            XCTAssertTrue(log.contains { $0.hasPrefix("resuming migration 1") }, "\(point): \(log)")
            // The derived down still removes exactly the migration's indexes.
            try runner([migration], on: restarted).down()
            XCTAssertEqual(try indexNames(in: restarted), Self.sampleIndexes, "\(point)")
            log = []
        }
    }
}

/// The primary of a three-member replica set steps down in the middle of an index build.
final class MigrationFailoverTests: MigrationTestCase {
    func testStepDownDuringApplyCompletesOnTheNewPrimaryOrOnRerun() throws {
        let replicaSet = try LaunchedReplicaSet()
        defer { replicaSet.stop() }
        let client = try replicaSet.client()
        let database = client.database("failover")
        let documents = try SampleDatabase(recordingCount: 5_000).create(in: database).recordings
        let primary = try XCTUnwrap(try replicaSet.members.first { try $0.client().hello()["isWritablePrimary"]?.boolValue == true })
        try primary.client().database("admin").runCommand(["configureFailPoint": "hangAfterStartingIndexBuild", "mode": "alwaysOn"])

        let migration = try migration(1, Self.criticalIndexes)
        let stepDown = DispatchSemaphore(value: 0)
        let run = runner([migration], on: database) { options in
            options.commitQuorum = "majority"
            options.retryFor = 90
            options.events = { [unowned self] event in
                if case .willSend(let command) = event, command["createIndexes"] != nil {
                    self.sentCommands.append(command)
                    stepDown.signal()
                }
            }
        }
        let finished = DispatchSemaphore(value: 0)
        let outcome = Box<Result<[Int], Error>>()
        // The runner is used by that one thread only, until `finished` is signalled.
        nonisolated(unsafe) let applying = run
        DispatchQueue.global().async {
            outcome.value = Result { try applying.apply() }
            finished.signal()
        }
        XCTAssertEqual(stepDown.wait(timeout: .now() + 60), .success)
        let direct = try primary.client()
        let filter: Document = ["ns": "failover.recordings", "desc": ["$regex": "^IndexBuildsCoordinator"]]
        for _ in 0..<200 where try direct.currentOperations(matching: filter).isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        _ = try? direct.database("admin").runCommand(["replSetStepDown": 30, "force": true])
        try direct.database("admin").runCommand(["configureFailPoint": "hangAfterStartingIndexBuild", "mode": "off"])
        XCTAssertEqual(finished.wait(timeout: .now() + 180), .success)

        if case .failure(let error) = outcome.value {
            // Allowed: a clear stop, then a rerun completes.
            XCTAssertTrue(String(describing: error).contains("interrupted"), "\(error)")
            try runner([migration], on: database) { $0.lockWait = 60 }.apply()
        }
        XCTAssertEqual(sentCommands.first?["commitQuorum"], "majority")
        try replicaSet.waitForPrimary()
        XCTAssertFalse(try primary.client().hello()["isWritablePrimary"]?.boolValue ?? false, "a new primary took over")
        XCTAssertEqual(try indexNames(in: database), Self.migratedIndexes)
        XCTAssertEqual(try records(in: database).map(\.state), [.applied])
        XCTAssertEqual(try database.collection("recordings").countDocuments(), documents)
    }
}

/// A value handed from a background thread to the test after a semaphore says it is there.
final class Box<T>: @unchecked Sendable {
    var value: T?
}
