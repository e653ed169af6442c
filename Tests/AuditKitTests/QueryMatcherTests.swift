import Foundation
import MongoKit
import SpecSupport
import TestSupport
import XCTest

@testable import AuditKit

/// The server is the oracle of the query matcher: random documents fill a real collection, and for each
/// random filter the matcher's count of matching documents must equal the server's `count` with the same
/// filter. A disagreement is reported with the seed, the filter and a document the two judge differently.
/// `QUERY_MATCHER_SEED` in the environment adds a run with that seed.
final class QueryMatcherTests: XCTestCase {
    static let documentCount = 400
    static let filterCount = 3_000

    func testFixedSeed() throws { try compare(seed: 20_261_122) }

    func testSeedFromEnvironment() throws {
        let seed = ProcessInfo.processInfo.environment["QUERY_MATCHER_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        print("QueryMatcherTests: seed \(seed)")
        try compare(seed: seed)
    }

    /// Documents the random ones may miss: arrays of arrays, positions, documents inside arrays of arrays,
    /// missing and null fields on the way, mixed numbers.
    static let edgeDocuments: [Document] = [
        ["a": [[["b": 1]], ["b": 2], 3]], ["a": ["b": [1, [2], ["c": 3]]]], ["a": [1, 2]], ["a": []], ["a": [["c": 1]]], ["a": .null],
        ["a": ["b": .null]], ["a": [.null]], ["a": 5], ["a": [[1, 2], [3]]], ["a": ["0": ["b": 1]]], ["a": [["0": 7], [7]]],
        ["a": [["b": [["c": 1], ["c": [0, 1]]]]]], ["v": [.double(.nan), .decimal128("NaN")]], ["v": [.double(-0.0), .decimal128("-0")]],
        ["a": ["b": ["c": [[1]]]]], ["a": [["b": []], ["b": [[]]]]], ["v": .array([])], ["v": ["b": .document([:])]],
    ]

    func compare(seed: UInt64) throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("matcher"))
        defer { try? database.drop() }
        let collection = database.collection("docs")
        var generator = RandomDocuments(seed: seed)
        var documents = (0..<Self.documentCount).map { generator.next(id: $0) }
        for (offset, edge) in Self.edgeDocuments.enumerated() {
            var document: Document = ["_id": .int32(Int32(Self.documentCount + offset))]
            for (key, value) in edge.elements { document.append(key, value) }
            documents.append(document)
        }
        try collection.insertMany(documents)
        // Read back as stored (the server's bytes, not ours).
        var stored: [Document] = []
        try collection.find(options: FindOptions(sort: ["_id": 1])) { cursor in try cursor.forEachView { stored.append($0.document) } }

        let verdicts = RegexVerdicts(collection: collection, maxTimeMS: 60_000, readPreference: .primary)
        var filters = RandomFilters(seed: seed ^ 0xF11E)
        var disagreements: [String] = []
        var accepted = 0
        var rejected: [String: Int] = [:]
        var matchedSome = 0
        for index in 0..<Self.filterCount {
            let filter = filters.filter()
            let json = filter.canonicalJSON
            let parser = FilterParser()
            let node: FilterNode
            do {
                node = try parser.parse(try SpecNode.parse(json, file: "filter"))
            } catch let error as SpecError {
                rejected[error.message.prefix(120).description, default: 0] += 1
                continue
            }
            accepted += 1
            let serverCount: Int
            do {
                serverCount = try collection.countDocuments(filter)
            } catch {
                disagreements.append("seed \(seed) filter #\(index) \(json): the matcher accepts it, the server refuses it: \(error)")
                continue
            }
            let local = try matches(node, parser: parser, documents: stored, verdicts: verdicts)
            let localCount = local.filter { $0 }.count
            if localCount > 0 { matchedSome += 1 }
            guard localCount != serverCount else { continue }
            var serverIDs = Set<Int32>()
            try collection.find(filter, options: FindOptions(projection: ["_id": 1])) { cursor in
                try cursor.forEachView { view in if case .int32(let id)? = view.value(at: "_id") { serverIDs.insert(id) } }
            }
            let differing = zip(stored, local).first { document, matched in
                guard case .int32(let id)? = document["_id"] else { return false }
                return serverIDs.contains(id) != matched
            }
            disagreements.append(
                "seed \(seed) filter #\(index) \(json): matcher \(localCount), server \(serverCount); "
                    + "e.g. \(differing.map { "\($0.0.canonicalJSON) (server: \($0.1 ? "no" : "yes"))" } ?? "?")")
            if disagreements.count >= 10 { break }
        }
        print("QueryMatcherTests seed \(seed): \(accepted) filters compared (\(matchedSome) matched some document), rejected: \(rejected)")
        XCTAssertEqual(disagreements, [], disagreements.joined(separator: "\n"))
        XCTAssertGreaterThan(accepted, Self.filterCount * 9 / 10)
        XCTAssertGreaterThan(matchedSome, accepted / 4)
    }

    /// The matcher's verdict on each document, regular expressions judged by the server.
    func matches(_ filter: FilterNode, parser: FilterParser, documents: [Document], verdicts: RegexVerdicts) throws -> [Bool] {
        let reader = FieldReader(paths: parser.topLevelNames)
        let matcher = QueryMatcher(topLevelNames: parser.topLevelNames.count, now: Date(), verdicts: verdicts)
        func judge(_ document: Document) -> Truth {
            document.withDocumentView { view in
                reader.load(view)
                for index in parser.topLevelNames.indices { matcher.topLevel[index] = reader.valueCount(index) > 0 ? reader.raw(index, 0) : nil }
                return matcher.matches(filter)
            }
        }
        var truths = documents.map(judge)
        if truths.contains(.unknown) {
            try verdicts.resolve()
            for index in truths.indices where truths[index] == .unknown { truths[index] = judge(documents[index]) }
        }
        XCTAssertFalse(truths.contains(.unknown))
        return truths.map { $0 == .yes }
    }

    /// The whole check over the same kind of data: each rule's violations equal the server's count.
    func testCheckCountsWhatTheServerCounts() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("rules"))
        defer { try? database.drop() }
        var generator = RandomDocuments(seed: 7)
        try database.collection("docs").insertMany((0..<1_000).map { generator.next(id: $0) })
        var filters = RandomFilters(seed: 8)
        var spec = "collection: docs\nrules:\n"
        var kept: [(name: String, filter: Document, mustMatch: Bool)] = []
        for index in 0..<300 {
            let filter = filters.filter()
            guard (try? FilterParser().parse(try SpecNode.parse(filter.canonicalJSON, file: "f"))) != nil else { continue }
            let mustMatch = index % 2 == 0
            kept.append(("rule \(index)", filter, mustMatch))
            spec += "  - name: rule \(index)\n    \(mustMatch ? "must_match" : "must_not_match"): \(filter.canonicalJSON)\n"
        }
        let node = try SpecNode.parse(spec, file: "spec.yml")
        let check = try DocumentRulesCheck(options: try node.fields(allowed: DocumentRulesCheck.description.allowedFields))
        let output = try check.run(in: AuditContext(database: database, maxTimeMS: 60_000), severity: .high)
        let violations = Dictionary(
            uniqueKeysWithValues: output.findings.compactMap { finding in
                finding.subject.map { ($0, Int(finding.metrics["violations"]?.number ?? -1)) }
            })
        for rule in kept {
            let matching = try database.collection("docs").countDocuments(rule.filter)
            let expected = rule.mustMatch ? 1_000 - matching : matching
            XCTAssertEqual(violations[rule.name] ?? 0, expected, "\(rule.name): \(rule.filter.canonicalJSON)")
        }
    }

    /// Two accumulators fed the two halves of a collection, merged, give the figures of one pass (documents
    /// waiting for regular expression verdicts included).
    func testMergeGivesTheFiguresOfOnePass() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("rulesmerge"))
        defer { try? database.drop() }
        var generator = RandomDocuments(seed: 11)
        let documents = (0..<600).map { generator.next(id: $0) }
        try database.collection("docs").insertMany(documents)
        let spec = """
            collection: docs
            rules:
              - {name: numbers, must_match: {v: {$type: number}}}
              - {name: text a, must_not_match: {a.b: {$regex: '^a', $options: i}}}
              - {name: expr, must_match: {$expr: {$lt: ["$v", "$a"]}}}
            """
        let check = try DocumentRulesCheck(options: try SpecNode.parse(spec, file: "spec.yml").fields(allowed: DocumentRulesCheck.description.allowedFields))
        let context = AuditContext(database: database, maxTimeMS: 60_000)
        let reader = FieldReader(paths: ["_id"] + check.fieldsRead)
        func accumulate(_ part: ArraySlice<Document>) -> DocumentRulesCheck.Accumulator {
            let accumulator = check.makeAccumulator(context: context, fields: reader, expectedDocuments: part.count) as! DocumentRulesCheck.Accumulator
            for document in part {
                document.withDocumentView { view in
                    reader.load(view)
                    accumulator.visit(view, fields: reader)
                }
            }
            return accumulator
        }
        let whole = accumulate(documents[...])
        let first = accumulate(documents[..<250])
        first.merge(accumulate(documents[250...]))
        let scan = ScanSummary(scanned: documents.count, total: documents.count, sampled: false)
        let expected = try whole.output(severity: .high, scan: scan, context: context).findings
        let merged = try first.output(severity: .high, scan: scan, context: context).findings
        XCTAssertEqual(merged.map(\.id), expected.map(\.id))
        XCTAssertEqual(merged.map(\.metrics), expected.map(\.metrics))
        XCTAssertEqual(expected.count, 3)
    }

    /// Operators the matcher does not evaluate are refused when the spec loads, at their line and field.
    func testUnsupportedOperatorsAreRefusedWithLineAndField() throws {
        let cases: [(yaml: String, field: String)] = [
            ("{$where: 'this.a > 1'}", "$where"),
            ("{$text: {$search: x}}", "$text"),
            ("{loc: {$geoWithin: {$centerSphere: [[0, 0], 1]}}}", "loc.$geoWithin"),
            ("{a: {$mod: [2, 0]}}", "a.$mod"),
            ("{$jsonSchema: {required: [a]}}", "$jsonSchema"),
            ("{a: {$foo: 1}}", "a.$foo"),
            ("{a: {$elemMatch: {b: {$bitsAllSet: 1}}}}", "a.$elemMatch.b.$bitsAllSet"),
            ("{$or: [{a: 1}, {$where: 'x'}]}", "$or[1].$where"),
            ("{$expr: {$add: [1, 2]}}", "$expr.$add"),
            ("{$expr: {$eq: [\"$$ROOT\", 1]}}", "$expr.$eq[0]"),
            ("{a: {$eq: {$undefined: true}}}", "a.$eq"),
            ("{a: {$regex: x, $options: u}}", "a.$regex"),
            ("{a: {$size: -1}}", "a.$size"),
            ("{a: {b: {$gt: 1}}}", "a"),
        ]
        for (filter, field) in cases {
            let spec = "collection: c\nrules:\n  - name: r\n    must_not_match:\n      \(filter)\n"
            let node = try SpecNode.parse(spec, file: "spec.yml")
            XCTAssertThrowsError(try DocumentRulesCheck(options: try node.fields(allowed: DocumentRulesCheck.description.allowedFields)), filter) { error in
                guard let error = error as? SpecError else { return XCTFail("\(filter): \(error)") }
                XCTAssertEqual(error.file, "spec.yml")
                XCTAssertEqual(error.line, 5, "\(filter): \(error)")
                XCTAssertEqual(error.field, "rules[0].must_not_match.\(field)", "\(filter): \(error)")
            }
        }
    }

    /// Filters too deep or too large are refused.
    func testFilterBounds() throws {
        var deep = "{a: 1}"
        for _ in 0..<30 { deep = "{$and: [\(deep)]}" }
        let large = "{a: {$in: [" + (0..<10_500).map(String.init).joined(separator: ", ") + "]}}"
        for filter in [deep, large] {
            let node = try SpecNode.parse("collection: c\nrules: [{name: r, must_match: \(filter)}]", file: "spec.yml")
            XCTAssertThrowsError(try DocumentRulesCheck(options: try node.fields(allowed: DocumentRulesCheck.description.allowedFields)))
        }
    }
}
