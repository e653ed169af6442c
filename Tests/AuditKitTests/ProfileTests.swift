import AuditKit
import Foundation
import MongoKit
import TestSupport
import XCTest

/// `profile` against the server's own counts, on a collection built here with nested documents, arrays of
/// documents, arrays of arrays, mixed types, nulls and missing fields.
final class ProfileTests: XCTestCase {
    var client: MongoClient!
    var databaseName = ""

    override func setUpWithError() throws {
        client = try TestServer.client()
        databaseName = TestServer.uniqueDatabaseName("profile")
    }

    override func tearDownWithError() throws {
        try client?.database(databaseName).drop()
    }

    /// Deterministic documents covering every shape the profiler distinguishes.
    static func mixedDocuments(count: Int = 400) -> [Document] {
        let base = Date(timeIntervalSince1970: 1_700_000_000)
        return (0..<count).map { i in
            var d = Document()
            if i % 10 != 0 { d.append("name", i % 10 == 1 ? .null : .string("name-\(i % 37)")) }
            switch i % 5 {
            case 0: d.append("n", .int32(Int32(i)))
            case 1: d.append("n", .int64(Int64(i) * 1_000_000_000_000))
            case 2: d.append("n", .double(Double(i) + 0.5))
            case 3: d.append("n", .string("\(i)"))
            default: break
            }
            if i % 7 != 0 { d.append("when", .datetime(base.addingTimeInterval(Double(i) * 3600.25))) }
            switch i % 6 {
            case 0: break
            case 1: d.append("meta", "not a document")
            case 2: d.append("meta", ["source": "import", "score": .null])
            default:
                d.append(
                    "meta",
                    [
                        "source": .string(i % 2 == 0 ? "api" : "web"), "score": .double(Double(i) / 3),
                        "deep": ["x": .int32(Int32(i % 4)), "y": i % 3 == 0 ? .null : .bool(i % 2 == 0)],
                    ])
            }
            switch i % 4 {
            case 0: d.append("tags", .array([.string("a"), .string("b\(i % 3)")]))
            case 1: d.append("tags", .array([]))
            case 2: d.append("tags", .array([.string("c"), .int32(1), .null, .array([.string("x")])]))
            default: if i % 8 == 3 { d.append("tags", "solo") }
            }
            if i % 3 != 0 {
                var items: [BSONValue] = [["sku": .string("s\(i)"), "qty": .int32(Int32(i % 9)), "opts": .array([.int32(1), .int32(2)])]]
                if i % 3 == 2 { items.append(["qty": .int64(2)]) }
                if i % 9 == 2 { items.append(.int32(5)) }
                if i % 9 == 5 { items.append(["sku": .null, "opts": "none"]) }
                d.append("items", .array(items))
            }
            if i % 11 == 0 { d.append("matrix", .array([.array([.int32(1), .int32(2)]), .array([.double(3.5)])])) }
            return d
        }
    }

    func testEveryReportedPathMatchesTheServersCounts() throws {
        let database = client.database(databaseName)
        let collection = database.collection("things")
        let documents = Self.mixedDocuments()
        try collection.insertMany(documents)
        let report = try DatabaseProfiler().run(on: database)
        let profile = try XCTUnwrap(report.collection("things"))
        XCTAssertEqual(profile.documents, documents.count)
        XCTAssertEqual(profile.malformedDocuments, 0)
        XCTAssertEqual(profile.droppedPaths, 0)
        let names = Set(profile.paths.map(\.path))
        for expected in [
            "_id", "name", "n", "when", "meta", "meta.source", "meta.score", "meta.deep", "meta.deep.x", "meta.deep.y", "tags",
            "tags[]", "tags[][]", "items", "items[]", "items[].sku", "items[].qty", "items[].opts", "items[].opts[]", "matrix",
            "matrix[]", "matrix[][]",
        ] {
            XCTAssertTrue(names.contains(expected), "path \(expected) not reported; got \(names.sorted())")
        }
        var comparisons = 0
        for path in profile.paths {
            if path.underArray {
                let server = try elementTypeCounts(collection, path: path.path)
                let mine = Dictionary(uniqueKeysWithValues: path.types.map { ($0.0, $0.1) })
                XCTAssertEqual(mine, server, "types of \(path.path)")
                XCTAssertEqual(path.values, server.values.reduce(0, +), path.path)
                comparisons += 1
                continue
            }
            let exists = try collection.countDocuments([path.path: ["$exists": true]])
            XCTAssertEqual(path.present, exists, "present at \(path.path)")
            XCTAssertEqual(path.missing, documents.count - exists, "missing at \(path.path)")
            let holdsArrays = path.count(of: "array") > 0
            if !holdsArrays {
                let nullOrMissing = try collection.countDocuments([path.path: .null])
                XCTAssertEqual(path.null, nullOrMissing - (documents.count - exists), "null at \(path.path)")
            }
            for type in BSONType.allCases {
                // On a path holding arrays, {$type} also matches elements: compare the value's own type instead.
                let filter: Document =
                    holdsArrays
                    ? ["$expr": ["$eq": [["$type": .string("$" + path.path)], .string(type.alias)]]]
                    : [path.path: ["$type": .string(type.alias)]]
                let server = try collection.countDocuments(filter)
                XCTAssertEqual(path.count(of: type.alias), server, "\(type.alias) at \(path.path)")
                comparisons += 1
            }
        }
        XCTAssertGreaterThan(comparisons, 250)

        // Ranges and lengths against the server's own.
        let n = try XCTUnwrap(profile.path("n"))
        let numbers = try serverMinMax(collection, path: "n", types: ["int", "long", "double"])
        XCTAssertEqual(n.numberMin, numbers.min?.doubleValue)
        XCTAssertEqual(n.numberMax, numbers.max?.doubleValue)
        let when = try XCTUnwrap(profile.path("when"))
        let dates = try serverMinMax(collection, path: "when", types: ["date"])
        XCTAssertEqual(when.dateMinMilliseconds.map { Double($0) / 1000 }, dates.min?.dateValue?.timeIntervalSince1970)
        XCTAssertEqual(when.dateMaxMilliseconds.map { Double($0) / 1000 }, dates.max?.dateValue?.timeIntervalSince1970)
        let tags = try XCTUnwrap(profile.path("tags"))
        XCTAssertEqual(tags.arrayLengthMin, 0)
        XCTAssertEqual(tags.arrayLengthMax, 4)
        let name = try XCTUnwrap(profile.path("name"))
        XCTAssertEqual(name.stringLengthMin, 6)  // name-0
        XCTAssertEqual(name.stringLengthMax, 7)  // name-10
        XCTAssertEqual(name.distinctExact, 37)
        XCTAssertEqual(name.topValues?.count, 20)
        let source = try XCTUnwrap(profile.path("meta.source"))
        XCTAssertEqual(Set(source.topValues?.map { $0.0.text(pretty: false) } ?? []), ["\"import\"", "\"api\"", "\"web\""])
        XCTAssertEqual(source.distinctExact, 3)
        // 400 documents: the string n values and the numbers are all distinct, and the estimate is close.
        XCTAssertNil(n.topValues, "more than 100 distinct values: no longer tracked")
        XCTAssertEqual(Double(n.distinctEstimate), Double(n.values), accuracy: Double(n.values) * 0.05)

        // JSON: numbers are numbers.
        let json = report.json
        XCTAssertEqual(json["schema"], .string(ProfileReport.schemaName))
        XCTAssertTrue(report.text.contains("items[].sku"), report.text)
    }

    func testNumbersMongoDBTreatsAsEqualCountAsOneDistinctValue() throws {
        let collection = client.database(databaseName).collection("numbers")
        try collection.insertMany([["v": .int32(1)], ["v": .int64(1)], ["v": .double(1.0)], ["v": .double(-0.0)], ["v": .int32(0)], ["v": .double(2.5)]])
        let profile = try DatabaseProfiler().profile(collection)
        let v = try XCTUnwrap(profile.path("v"))
        XCTAssertEqual(v.distinctEstimate, 3)
        XCTAssertEqual(v.distinctExact, 3)
        XCTAssertEqual(v.numberMin, 0)
        XCTAssertEqual(v.numberMax, 2.5)
    }

    func testDistinctEstimateOnManyValuesIsWithinItsError() throws {
        var profiler = CollectionProfiler(collection: "x")
        for i in 0..<50_000 { profiler.add(["u": .string("value-\(i)")]) }
        let u = try XCTUnwrap(profiler.profile.path("u"))
        XCTAssertEqual(Double(u.distinctEstimate), 50_000, accuracy: 50_000 * 4 * HyperLogLog.standardError)
        XCTAssertNil(u.topValues)
        profiler = CollectionProfiler(collection: "y", maxPaths: 5)
        for i in 0..<20 { profiler.add(Document((0..<10).map { ("f\($0 + i)", BSONValue.int32(1)) })) }
        XCTAssertEqual(profiler.profile.paths.count, 5)
        XCTAssertEqual(profiler.profile.droppedPaths, 24)
    }

    func testKeysInAnyOrderAndEmptyKeysLandOnTheirOwnPaths() throws {
        let profiler = CollectionProfiler(collection: "x")
        profiler.add(["a": 1, "b": "x", "": true])
        profiler.add(["b": 2, "a": .null])
        profiler.add(["": false, "c": ["a": 1, "b": 2]])
        profiler.add(["c": ["b": "y", "a": 3], "a": 4])
        let profile = profiler.profile
        XCTAssertEqual(profile.paths.map(\.path), ["", "a", "b", "c", "c.a", "c.b"])
        XCTAssertEqual(profile.path("a")?.types.map { "\($0.0) \($0.1)" }, ["int 2", "null 1"])
        XCTAssertEqual(profile.path("b")?.types.map { "\($0.0) \($0.1)" }, ["int 1", "string 1"])
        XCTAssertEqual(profile.path("")?.count(of: "bool"), 2)
        XCTAssertEqual(profile.path("c.a")?.numberMax, 3)
        XCTAssertEqual(profile.path("c.b")?.count(of: "string"), 1)
        XCTAssertEqual(profile.path("a")?.missing, 1)
    }

    func testStringLengthsAndDistinctValuesCountCodePointsAndBytesOfEveryLength() throws {
        // Lengths 0 to 40 bytes, multi-byte characters at the start, the middle and the end of the last word.
        let texts = (0..<41).flatMap { n -> [String] in
            let ascii = String(repeating: "a", count: n)
            return [ascii, "é" + ascii, ascii + "日本", ascii + "🙂" + ascii]
        }
        for text in texts {
            let profiler = CollectionProfiler(collection: "x")
            profiler.add(["s": .string(text)])
            profiler.add(["s": .string(text + "x")])
            let s = try XCTUnwrap(profiler.profile.path("s"))
            XCTAssertEqual(s.stringLengthMin, text.unicodeScalars.count, text)
            XCTAssertEqual(s.stringLengthMax, text.unicodeScalars.count + 1, text)
            XCTAssertEqual(s.distinctExact, 2, text)
            XCTAssertEqual(s.distinctEstimate, 2, text)
        }
        // Strings that differ in one byte anywhere hash apart: every length up to 24, every position, all distinct.
        let profiler = CollectionProfiler(collection: "y")
        var count = 0
        for n in 1...24 {
            for position in 0..<n {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: n)
                bytes[position] = UInt8(ascii: "b")
                profiler.add(["s": .string(String(decoding: bytes, as: UTF8.self))])
                count += 1
            }
        }
        let s = try XCTUnwrap(profiler.profile.path("s"))
        XCTAssertEqual(Double(s.distinctEstimate), Double(count), accuracy: Double(count) * 0.05)
    }

    func testSampleReadsAtMostTheSampleSize() throws {
        let database = client.database(databaseName)
        try database.collection("things").insertMany(Self.mixedDocuments(count: 200))
        let report = try DatabaseProfiler(sample: 50).run(on: database)
        let profile = try XCTUnwrap(report.collection("things"))
        XCTAssertEqual(profile.documents, 50)
        XCTAssertEqual(profile.sampled, 50)
    }

    func testHTMLPageEscapesNamesAndValuesFromTheDatabase() throws {
        let database = client.database(databaseName)
        try database.collection("things").insertMany(Self.mixedDocuments(count: 60))
        let hostile = "<script>alert('x')</script>"
        try database.collection("odd <b>&amp; \"names\"").insertMany([
            [hostile: .string("</td><img src=x onerror=alert(1)>"), "a&b": ["<i>": .int32(1)]],
            [hostile: .string("plain"), "a&b": .null],
        ])
        let report = try DatabaseProfiler().run(on: database)
        let html = report.html
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        for expected in [
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", "&lt;/td&gt;&lt;img src=x onerror=alert(1)&gt;", "odd &lt;b&gt;&amp;amp; &quot;names&quot;",
            "a&amp;b.&lt;i&gt;", "items[].sku", "tags[]", "<table class=\"profile\">",
        ] {
            XCTAssertTrue(html.contains(expected), "missing \(expected)")
        }
        XCTAssertFalse(html.contains("<script"), "no script element, and no text from the database opens one")
        XCTAssertFalse(html.contains("<img"))
        XCTAssertFalse(html.contains("<i>"))
        // Well-formed as XML (void elements closed), so a stray `<` or `&` from the data would not parse.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID())-profile.html")
        try html.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let lint = try runProcess("/usr/bin/env", ["xmllint", "--noout", url.path])
        XCTAssertEqual(lint.status, 0, lint.stderr)
    }

    /// Per BSON type, the values at an array path (`items[].sku`): each `[]` unwinds the array before it.
    func elementTypeCounts(_ collection: MongoCollection, path: String) throws -> [String: Int] {
        var pipeline: [Document] = []
        var prefix = ""
        var rest = path[...]
        while let range = rest.range(of: "[]") {
            prefix += rest[..<range.lowerBound]
            pipeline.append(["$match": ["$expr": ["$isArray": .string("$" + prefix)]]])
            pipeline.append(["$unwind": .string("$" + prefix)])
            rest = rest[range.upperBound...]
        }
        let full = prefix + rest
        pipeline.append(["$group": ["_id": ["$type": .string("$" + full)], "n": ["$sum": 1]]])
        var result: [String: Int] = [:]
        try collection.aggregate(pipeline) { cursor in
            while let document = try cursor.next() {
                guard let type = document["_id"]?.stringValue, type != "missing" else { continue }
                result[type] = document["n"]?.intValue
            }
        }
        return result
    }

    func serverMinMax(_ collection: MongoCollection, path: String, types: [String]) throws -> (min: BSONValue?, max: BSONValue?) {
        let pipeline: [Document] = [
            ["$match": [path: ["$type": .array(types.map(BSONValue.string))]]],
            ["$group": ["_id": .null, "min": ["$min": .string("$" + path)], "max": ["$max": .string("$" + path)]]],
        ]
        return try collection.aggregate(pipeline) { cursor in
            let document = try cursor.next()
            return (document?["min"], document?["max"])
        }
    }
}
