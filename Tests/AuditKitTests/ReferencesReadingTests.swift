import Foundation
import MongoKit
import ScanKernel
import TestSupport
import XCTest

@testable import AuditKit

/// How `references` reads: each collection once (the smaller side held in memory: the references, which
/// the target's shared pass then looks up, or the target's values, collected in its pass first), a sample
/// resolved through the target's index without scanning it, and the same figures whichever way it reads.
final class ReferencesReadingTests: XCTestCase {
    static let recordings = 3_000
    static let metadata = 2_000
    /// Metadata documents from this one on reference no recording.
    static let firstOrphan = 1_800

    var client: MongoClient!
    var database: MongoDatabase!

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("refsreading"))
        try database.collection("recordings").insertMany((0..<Self.recordings).map { ["uuid": .string("u\($0)"), "n": .int32(Int32($0))] })
        try database.collection("metadata").insertMany(
            (0..<Self.metadata).map { index in
                ["recording_uuid": .string(index < Self.firstOrphan ? "u\(index)" : "x\(index)")]
            })
    }

    override func tearDownWithError() throws { try database?.drop() }

    static let spec = """
        version: 1
        checks:
          - {check: field_completeness, collection: recordings, fields: {uuid: {types: [string]}}}
          - {check: references, collection: metadata, field: recording_uuid, to_collection: recordings, to_field: uuid}
        """

    static let referencesOnly =
        "version: 1\nchecks:\n  - {check: references, collection: metadata, field: recording_uuid, to_collection: recordings, to_field: uuid}\n"

    /// Documents the server has examined since it started.
    func examined() throws -> Int {
        try XCTUnwrap(try client.database("admin").runCommand(["serverStatus": 1]).value(at: "metrics.queryExecutor.scannedObjects")?.intValue)
    }

    func references(_ report: AuditReport) throws -> CheckResult { try XCTUnwrap(report.checks.first { $0.check == "references" }) }

    func assertExactFigures(_ result: CheckResult, file: StaticString = #filePath, line: UInt = #line) {
        let orphans = Self.metadata - Self.firstOrphan
        XCTAssertEqual(result.metrics["orphanDocuments"]?.number, Double(orphans), file: file, line: line)
        XCTAssertEqual(result.metrics["orphanValues"], .count(orphans), file: file, line: line)
        XCTAssertEqual(result.metrics["referencedValues"], .count(Self.metadata), file: file, line: line)
        XCTAssertEqual(result.metrics["referencingDocuments"], .count(Self.metadata), file: file, line: line)
    }

    static let heldMethod =
        "the references' hashes held in the shared pass of metadata, the target's values looked up in them in the shared pass of recordings"

    /// The first orphan values in the order of the documents holding them.
    static let firstOrphans: [BSONValue] = (firstOrphan..<(firstOrphan + 5)).map { .string("x\($0)") }

    /// field_completeness on recordings and references from metadata to recordings: the server examines
    /// each collection's documents once (a second read of either would add at least 2,000). With fewer
    /// references than recordings, metadata's pass holds the references and recordings' pass finishes the check.
    func testEachCollectionIsReadOnce() throws {
        for parallel in [1, 2] {
            var auditor = Auditor(spec: try AuditSpec(text: Self.spec, file: "t.yml"))
            auditor.parallelScans = parallel
            let before = try examined()
            let report = try auditor.run(on: client, database: database.name, failOn: .high)
            let read = try examined() - before
            XCTAssertLessThanOrEqual(read, (Self.recordings + Self.metadata) * 11 / 10, "parallel \(parallel): each collection is read once")
            XCTAssertGreaterThanOrEqual(read, Self.recordings + Self.metadata)
            let result = try references(report)
            assertExactFigures(result)
            XCTAssertEqual(result.metrics["documentsScanned"], .count(Self.metadata), "the figures are of metadata's pass")
            let finding = try XCTUnwrap(result.findings.first { $0.kind == "orphan_references" })
            XCTAssertEqual(finding.fact("method"), Self.heldMethod)
            XCTAssertEqual(finding.examples, Self.firstOrphans)
        }
    }

    /// With more references than target documents the target's values are held instead: its pass runs
    /// first and collects them, and each collection is still read once.
    func testTheTargetsValuesAreHeldWhenTheyAreFewer() throws {
        try database.collection("recordings").drop()
        try database.collection("recordings").insertMany((0..<Self.firstOrphan).map { ["uuid": .string("u\($0)")] })
        let before = try examined()
        let report = try Auditor(spec: try AuditSpec(text: Self.spec, file: "t.yml")).run(on: client, database: database.name, failOn: .high)
        XCTAssertLessThanOrEqual(try examined() - before, (Self.firstOrphan + Self.metadata) * 11 / 10)
        let result = try references(report)
        assertExactFigures(result)
        let finding = try XCTUnwrap(result.findings.first { $0.kind == "orphan_references" })
        XCTAssertEqual(finding.fact("method"), "hashes of the target's values from its shared pass")
        XCTAssertEqual(finding.examples, Self.firstOrphans)
        let plan = try Auditor(spec: try AuditSpec(text: Self.spec, file: "t.yml")).plan(on: client, database: database.name)
        XCTAssertEqual(plan.passes.map(\.collection), ["recordings", "metadata"], "the target's pass comes first")
    }

    /// References that outgrow the budget in their pass (arrays), though their documents did not promise
    /// it: the check reads both collections on its own, with the same figures.
    func testHeldReferencesBeyondTheBudgetGiveTheSameFigures() throws {
        try database.collection("metadata").drop()
        try database.collection("metadata").insertMany(
            (0..<Self.metadata).map { index in
                let own: BSONValue = .string(index < Self.firstOrphan ? "u\(index)" : "x\(index)")
                return ["recording_uuid": [own, own, "u0", "u1", "u2", "u3"]]
            })
        var check = ReferencesCheck(collection: "metadata", field: "recording_uuid", toCollection: "recordings", toField: "uuid")
        check.fingerprintBudgetBytes = 18 * 2_100
        let report = try Auditor(spec: AuditSpec(checks: [ConfiguredCheck(check: check)])).run(on: client, database: database.name, failOn: .high)
        let result = try references(report)
        XCTAssertEqual(result.metrics["orphanDocuments"]?.number, Double(Self.metadata - Self.firstOrphan))
        XCTAssertEqual(result.metrics["orphanValues"], .count(Self.metadata - Self.firstOrphan))
        XCTAssertEqual(result.metrics["referencingDocuments"], .count(Self.metadata))
        XCTAssertEqual(result.metrics["documentsScanned"], .count(Self.metadata))
        let method = try XCTUnwrap(result.findings.first { $0.kind == "orphan_references" }?.fact("method"))
        XCTAssertTrue(method.hasPrefix("hashes of the references resolved by reads of their own"), method)
    }

    /// An audit stopped after the pass holding the references and before the target's: the check is
    /// reported as not run, like every check of a pass that did not start.
    func testAnAuditStoppedBeforeTheTargetsPassDoesNotRunTheCheck() throws {
        let asked = Counter()
        let auditor = Auditor(spec: try AuditSpec(text: Self.referencesOnly, file: "t.yml"), shouldStop: { asked.next() > 1 })
        let result = try references(try auditor.run(on: client, database: database.name, failOn: .high))
        XCTAssertEqual(result.status, .notRun)
        XCTAssertEqual(result.notRunCause, .interrupted)
        XCTAssertEqual(asked.value, 2, "asked before metadata's pass and before recordings'")
    }

    /// A target with no other document check still gets exactly one pass, for the references alone.
    func testATargetWithoutChecksOfItsOwnIsReadOnce() throws {
        let spec = Self.referencesOnly
        let before = try examined()
        let report = try Auditor(spec: try AuditSpec(text: spec, file: "t.yml")).run(on: client, database: database.name, failOn: .high)
        XCTAssertLessThanOrEqual(try examined() - before, (Self.recordings + Self.metadata) * 11 / 10)
        assertExactFigures(try references(report))
        let plan = try Auditor(spec: try AuditSpec(text: spec, file: "t.yml")).plan(on: client, database: database.name)
        XCTAssertEqual(plan.passes.map(\.collection), ["metadata", "recordings"], "the pass holding the references comes first")
        XCTAssertEqual(plan.passes.last?.checks, ["references (values of uuid looked up in the references metadata.recording_uuid holds)"])
        XCTAssertEqual(plan.passes.last?.fields, ["uuid"])
        XCTAssertEqual(plan.passes.flatMap(\.alsoReads), [], "nothing is read beyond the two passes")
    }

    /// A target with more documents than the budget of hashes holds rides no pass: the references are kept
    /// as hashes and resolved by one read of the target and one more of the source.
    func testATargetBeyondTheBudgetIsReadOnceOnItsOwn() throws {
        var check = ReferencesCheck(collection: "metadata", field: "recording_uuid", toCollection: "recordings", toField: "uuid")
        check.fingerprintBudgetBytes = 8 * 2_500
        let before = try examined()
        let report = try Auditor(spec: AuditSpec(checks: [ConfiguredCheck(check: check)])).run(on: client, database: database.name, failOn: .high)
        XCTAssertLessThanOrEqual(try examined() - before, (Self.recordings + 2 * Self.metadata) * 11 / 10)
        let result = try references(report)
        assertExactFigures(result)
        let finding = try XCTUnwrap(result.findings.first { $0.kind == "orphan_references" })
        XCTAssertEqual(finding.fact("note"), "beyond the shared passes: 1 read(s) of recordings and of metadata")
        XCTAssertEqual(finding.fact("method")?.hasSuffix("do not fit the 0 MB budget of hashes"), true, finding.fact("method") ?? "")
        // The plan says so before anything is read, and so does it for unique_values beyond its exact table.
        var unique = UniqueValuesCheck(collection: "recordings", field: "uuid")
        unique.exactTableBytes = 0
        let plan = try Auditor(spec: AuditSpec(checks: [ConfiguredCheck(check: check), ConfiguredCheck(check: unique)]))
            .plan(on: client, database: database.name)
        let metadataReads = try XCTUnwrap(plan.passes.first { $0.collection == "metadata" }).alsoReads
        XCTAssertEqual(metadataReads.count, 1)
        XCTAssertTrue(
            metadataReads[0].hasPrefix("references: one more read of recordings.uuid and of metadata.recording_uuid after this pass"), metadataReads[0])
        let recordingsReads = try XCTUnwrap(plan.passes.first { $0.collection == "recordings" }).alsoReads
        XCTAssertEqual(recordingsReads.count, 1)
        XCTAssertTrue(recordingsReads[0].hasPrefix("unique_values: one query over uuid for the Bloom filter's candidates"), recordingsReads[0])
    }

    /// Values in arrays can outgrow the budget though the documents do not: the shared pass holds the
    /// target's hashes in part, and the references beyond them are resolved by one more read of each.
    func testATargetPassHoldingTheHashesInPartGivesTheSameFigures() throws {
        try database.collection("groups").insertMany(
            (0..<300).map { group in
                ["uuids": .array((0..<10).map { .string("u\(group * 10 + $0)") })]
            })
        var check = ReferencesCheck(collection: "metadata", field: "recording_uuid", toCollection: "groups", toField: "uuids")
        check.fingerprintBudgetBytes = 8 * 1_000
        let report = try Auditor(spec: AuditSpec(checks: [ConfiguredCheck(check: check)])).run(on: client, database: database.name, failOn: .high)
        let result = try references(report)
        assertExactFigures(result)
        let finding = try XCTUnwrap(result.findings.first { $0.kind == "orphan_references" })
        XCTAssertEqual(finding.fact("method")?.hasPrefix("hashes of the target's values from its shared pass (in part"), true, finding.fact("method") ?? "")
        XCTAssertEqual(finding.fact("note")?.hasPrefix("beyond the shared passes: "), true)
    }

    /// Above the memory budget of hashes the target is taken in ranges of hash values, with one more read
    /// of each collection per range: the figures are the same. Both from the shared pass and on its own.
    func testRangesBeyondTheBudgetGiveTheSameFigures() throws {
        var check = ReferencesCheck(collection: "metadata", field: "recording_uuid", toCollection: "recordings", toField: "uuid")
        check.fingerprintBudgetBytes = 8 * 500
        let spec = AuditSpec(checks: [ConfiguredCheck(check: check)])
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        let shared = try references(report)
        assertExactFigures(shared)
        let note = try XCTUnwrap(shared.findings.first { $0.kind == "orphan_references" }?.fact("note"))
        XCTAssertTrue(note.hasPrefix("beyond the shared passes: "), note)
        let alone = try check.run(in: AuditContext(database: database, maxTimeMS: 10_000), severity: .medium)
        for name in ["orphanDocuments", "orphanValues", "referencedValues", "referencingDocuments"] {
            XCTAssertEqual(alone.metrics[name], shared.metrics[name], name)
        }

        // A sample (here all but one document) cannot be read again for further ranges: it keeps its values.
        let completeness = try XCTUnwrap(try AuditSpec(text: Self.spec, file: "t.yml").checks.first)
        let sampledSpec = AuditSpec(checks: [completeness, ConfiguredCheck(check: check, maxDocuments: Self.metadata - 1)])
        let sampled = try references(try Auditor(spec: sampledSpec).run(on: client, database: database.name, failOn: .high))
        XCTAssertEqual(sampled.sample?.size, Self.metadata - 1)
        let orphans = try XCTUnwrap(sampled.metrics["orphanValues"]?.number)
        XCTAssertTrue([Self.metadata - Self.firstOrphan - 1, Self.metadata - Self.firstOrphan].map(Double.init).contains(orphans), "\(orphans)")
        XCTAssertEqual(sampled.metrics["orphanDocuments"]?.number, orphans)
        XCTAssertEqual(sampled.findings.first { $0.kind == "orphan_references" }?.fact("method"), "the sample's values compared with one read of recordings")
    }

    /// A sampled source is resolved with `$in` queries on the target's index: the target is not scanned.
    /// A sample as large as the collection gives the exact figures, flagged as a sample.
    func testASampleIsResolvedThroughTheTargetsIndex() throws {
        try database.runCommand(["createIndexes": "recordings", "indexes": [["key": ["uuid": 1], "name": "uuid_1"]]])
        try database.collection("metadata").insertMany((0..<8_000).map { ["recording_uuid": .string("u\($0 % Self.recordings)"), "filler": 1] })
        let sampleSize = 300
        let before = try examined()
        let sampled = try Auditor(spec: try AuditSpec(text: Self.referencesOnly, file: "t.yml"), scanOptions: ScanOptions(sampleSize: sampleSize))
            .run(on: client, database: database.name, failOn: .high)
        XCTAssertLessThan(try examined() - before, Self.recordings, "the sample of metadata and the index lookups, never a scan of recordings")
        let result = try references(sampled)
        XCTAssertEqual(result.sample?.size, sampleSize)
        guard case .proportion(let orphans)? = result.metrics["orphanDocuments"] else { return XCTFail("orphanDocuments is a proportion") }
        XCTAssertFalse(orphans.exact)
        XCTAssertLessThanOrEqual(orphans.count, sampleSize)

        let whole = try Auditor(spec: try AuditSpec(text: Self.spec, file: "t.yml"), scanOptions: ScanOptions(sampleSize: 10_000))
            .run(on: client, database: database.name, failOn: .high)
        let exact = try references(whole)
        XCTAssertEqual(exact.metrics["orphanDocuments"]?.number, Double(Self.metadata - Self.firstOrphan))
        XCTAssertEqual(exact.metrics["orphanValues"], .count(Self.metadata - Self.firstOrphan))
        XCTAssertEqual(exact.findings.first { $0.kind == "orphan_references" }?.fact("method")?.hasPrefix("the sample's values looked up with $in"), true)
    }

    /// Without an index on the target field, a sample is resolved by one read of the target.
    func testASampleWithoutAnIndexReadsTheTargetOnce() throws {
        let before = try examined()
        let report = try Auditor(spec: try AuditSpec(text: Self.spec, file: "t.yml"), scanOptions: ScanOptions(sampleSize: 10_000))
            .run(on: client, database: database.name, failOn: .high)
        XCTAssertLessThanOrEqual(try examined() - before, (2 * Self.recordings + Self.metadata) * 11 / 10, "the sample and one read of recordings")
        let result = try references(report)
        XCTAssertEqual(result.metrics["orphanDocuments"]?.number, Double(Self.metadata - Self.firstOrphan))
        XCTAssertEqual(result.metrics["orphanValues"], .count(Self.metadata - Self.firstOrphan))
    }

    /// References in both directions, and a collection referencing itself: no pass waits for itself.
    func testCyclesAndSelfReferencesStillResolve() throws {
        try database.collection("recordings").insertOne(["uuid": "x1999", "parent": "u1"])
        let spec = """
            version: 1
            checks:
              - {check: references, collection: metadata, field: recording_uuid, to_collection: recordings, to_field: uuid}
              - {check: references, collection: recordings, field: uuid, to_collection: metadata, to_field: recording_uuid}
              - {check: references, collection: recordings, field: parent, to_collection: recordings, to_field: uuid}
            """
        var auditor = Auditor(spec: try AuditSpec(text: spec, file: "t.yml"))
        auditor.parallelScans = 2
        let report = try auditor.run(on: client, database: database.name, failOn: .high)
        XCTAssertEqual(report.checks.map(\.status), [.failed, .failed, .passed])
        XCTAssertEqual(report.checks[0].metrics["orphanValues"], .count(Self.metadata - Self.firstOrphan - 1))
        XCTAssertEqual(report.checks[1].metrics["orphanValues"], .count(Self.recordings - Self.firstOrphan))
        XCTAssertEqual(report.checks[2].metrics["referencingDocuments"], .count(1))
    }

    /// The hashes are sorted in place, repeats dropped, whatever their order or repeats.
    func testFingerprintsAreSortedWithoutRepeats() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 17, 100, 5_000] {
            for spread: UInt64 in [3, 1_000, .max] {
                let hashes = (0..<count).map { _ in UInt64.random(in: 0...spread, using: &generator) }
                var fingerprints = Fingerprints(capacity: 10_000, expected: count)
                for hash in hashes { fingerprints.add(hash) }
                fingerprints.finish()
                XCTAssertEqual(fingerprints.hashes, Array(Set(hashes)).sorted(), "\(count) hashes up to \(spread)")
            }
        }
        var sorted = Fingerprints(capacity: 10_000, expected: 0)
        for hash in (0..<3_000).map(UInt64.init) + (0..<3_000).reversed().map(UInt64.init) { sorted.add(hash) }
        sorted.finish()
        XCTAssertEqual(sorted.hashes, (0..<3_000).map(UInt64.init))
    }

    /// Feeds a collection's documents to `parts` in turn (disjoint parts of one pass over `path`).
    func feed(_ collection: String, _ path: String, to parts: [any DocumentAccumulator]) throws {
        // `_id` at slot 0, as in the scan.
        let fields = FieldReader(paths: ["_id", path])
        var index = 0
        try database.collection(collection).find { cursor in
            try cursor.forEachView { view in
                fields.load(view)
                parts[index % parts.count].visit(view, fields: fields)
                index += 1
            }
        }
    }

    /// Accumulators fed disjoint parts of a pass merge into the figures of one pass over both.
    func testMergedPartsGiveTheFiguresOfOnePass() throws {
        let check = ReferencesCheck(collection: "metadata", field: "recording_uuid", toCollection: "recordings", toField: "uuid")
        let context = AuditContext(database: database, maxTimeMS: 10_000)
        let arrangement = check.arranged(CrossCollectionReading(ownSampleSize: nil, otherPass: .whole(before: true, after: false)), context: context)
        let bound = arrangement.check
        guard case .collectsBefore(let rides) = arrangement.rider else { return XCTFail("the target's values are collected first") }
        let targets = (0..<2).map { _ in rides.makeAccumulator(context: context, fields: FieldReader(paths: ["_id", "uuid"]), expectedDocuments: 10) }
        try feed("recordings", "uuid", to: targets)
        (targets[0] as! TargetAccumulator).merge(targets[1])
        _ = try targets[0].output(severity: .info, scan: ScanSummary(scanned: Self.recordings, total: Self.recordings, sampled: false), context: context)
        let whole = ScanSummary(scanned: Self.metadata, total: Self.metadata, sampled: false)
        let sources = (0..<3).map { _ in bound.makeAccumulator(context: context, fields: FieldReader(paths: ["_id", "recording_uuid"]), expectedDocuments: 10) }
        try feed("metadata", "recording_uuid", to: sources)
        for part in sources.dropFirst() { (sources[0] as! ResolvingAccumulator).merge(part) }
        var result = CheckResult(check: "references", collection: "metadata", severity: .medium, status: .passed)
        result.record(.ran(try sources[0].output(severity: .medium, scan: whole, context: context)))
        assertExactFigures(result)

        // The same for references held in metadata's pass and looked up in recordings'.
        let holding = check.arranged(CrossCollectionReading(ownSampleSize: nil, otherPass: .whole(before: true, after: true)), context: context)
        guard case .finishesAfter(let lookup) = holding.rider else { return XCTFail("the references are held") }
        let holders = (0..<3).map { _ in
            holding.check.makeAccumulator(context: context, fields: FieldReader(paths: ["_id", "recording_uuid"]), expectedDocuments: 10)
        }
        try feed("metadata", "recording_uuid", to: holders)
        for part in holders.dropFirst() { holders[0].merge(part) }
        _ = try holders[0].output(severity: .medium, scan: whole, context: context)
        let lookups = (0..<2).map { _ in lookup.makeAccumulator(context: context, fields: FieldReader(paths: ["_id", "uuid"]), expectedDocuments: 10) }
        try feed("recordings", "uuid", to: lookups)
        lookups[0].merge(lookups[1])
        let targetScan = ScanSummary(scanned: Self.recordings, total: Self.recordings, sampled: false)
        result.record(.ran(try lookups[0].output(severity: .medium, scan: targetScan, context: context)))
        assertExactFigures(result)
        XCTAssertEqual(result.metrics["documentsScanned"], .count(Self.metadata))
        // Parts fed in turn: the earliest orphans by document number are the first part's (every third document).
        XCTAssertEqual(
            result.findings.first { $0.kind == "orphan_references" }?.examples,
            stride(from: 1_800, to: 1_815, by: 3).map { .string("x\($0)") })

        // The same for the values a sample keeps.
        let keeping = (0..<2).map { _ in KeepingAccumulator(check: check, slot: 1, byIndex: false) }
        try feed("metadata", "recording_uuid", to: keeping)
        keeping[0].merge(keeping[1])
        result.record(.ran(try keeping[0].output(severity: .medium, scan: whole, context: context)))
        assertExactFigures(result)
    }
}

/// Counts calls from any thread.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
