import Foundation
import XCTest

@testable import MongoKit

/// Pure BSON logic: no server needed.
final class DocumentTests: XCTestCase {
    static let everyType: Document = [
        "double": 1.5, "string": "héllo\u{0}world", "document": ["nested": ["deep": 1]], "array": [1, "two", 3.0],
        "binary": .binary(subtype: 4, data: Data([1, 2, 3, 255])), "undefined": .undefined,
        "objectId": .objectId(ObjectID(hex: "5f1d7f4e2c3b4a5d6e7f8091")!), "bool": true,
        "datetime": .datetime(Date(timeIntervalSince1970: 1_700_000_000.123)), "null": .null,
        "regex": .regex(pattern: "^rec-[0-9]+$", options: "i"),
        "dbPointer": .dbPointer(collection: "db.recordings", id: ObjectID(hex: "5f1d7f4e2c3b4a5d6e7f8091")!),
        "javascript": .javascript("function() { return 1 }"), "symbol": .symbol("sym"),
        "javascriptWithScope": .javascriptWithScope(code: "x + 1", scope: ["x": 1]), "int32": .int32(-7),
        "timestamp": .timestamp(seconds: 1_700_000_000, increment: 3), "int64": .int64(1 << 40),
        "decimal128": .decimal128("1234.5678"), "minKey": .minKey, "maxKey": .maxKey,
    ]

    func testEveryBSONTypeRoundTripsThroughBytesAndCanonicalJSON() throws {
        let original = Self.everyType
        XCTAssertEqual(original.count, 21)
        let fromBytes = try Document(bytes: original.bytes)
        XCTAssertEqual(fromBytes, original)
        let fromJSON = try Document(json: original.canonicalJSON)
        XCTAssertEqual(fromJSON, original)
        for (key, value) in original.elements {
            XCTAssertEqual(fromJSON[key], value, key)
            XCTAssertEqual(value.type.alias, key == "document" ? "object" : value.type.alias)
        }
        XCTAssertEqual(original["string"]?.stringValue, "héllo\u{0}world", "NUL bytes inside strings survive")
    }

    func testKeysKeepTheirOrder() {
        let document: Document = ["z": 1, "a": 2, "m": 3]
        XCTAssertEqual(document.keys, ["z", "a", "m"])
        XCTAssertEqual(document.relaxedJSON, #"{ "z" : 1, "a" : 2, "m" : 3 }"#)
    }

    func testCopyOnWriteLeavesTheOriginalAlone() {
        let original: Document = ["a": 1]
        var copy = original
        copy.append("b", 2)
        copy["a"] = "changed"
        XCTAssertEqual(original.keys, ["a"])
        XCTAssertEqual(original["a"], .int32(1))
        XCTAssertEqual(copy.keys, ["a", "b"])
        XCTAssertEqual(copy["a"], "changed")
        copy["b"] = nil
        XCTAssertEqual(copy.keys, ["a"])
    }

    func testDottedPathsReachIntoDocumentsAndArrays() {
        let document: Document = ["channels": ["min": 1, "max": 48], "tags": ["das", "production"]]
        XCTAssertEqual(document.value(at: "channels.max"), .int32(48))
        XCTAssertEqual(document.value(at: "tags.1"), "production")
        XCTAssertNil(document.value(at: "channels.missing"))
        XCTAssertNil(document.value(at: "nothing.here"))
        document.withDocumentView { view in
            XCTAssertEqual(view.type(at: "channels"), .document)
            XCTAssertEqual(view.type(at: "channels.min"), .int32)
            XCTAssertNil(view.type(at: "channels.min.deeper"))
        }
    }

    func testInvalidJSONAndBytesAreErrorsNotCrashes() {
        XCTAssertThrowsError(try Document(json: "{not json")) { error in
            guard case MongoError.invalidDocument = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try Document(bytes: [5, 0, 0, 0, 1]))
        XCTAssertThrowsError(try Document(bytes: [0xFF, 0xFF, 0xFF, 0x7F, 0]))
    }

    func testDeeplyNestedDocumentsAreRead() throws {
        var nested: Document = ["leaf": 1]
        for _ in 0..<90 { nested = ["n": .document(nested)] }
        let copy = try Document(bytes: nested.bytes)
        XCTAssertEqual(copy, nested)
        XCTAssertEqual(copy.value(at: Array(repeating: "n", count: 90).joined(separator: ".") + ".leaf"), .int32(1))
    }

    func testIndexSpecReadsWhatTheServerReturnsAndWritesOnlySetOptions() throws {
        let fromServer = try Document(
            json: #"{"v": 2, "key": {"a": 1.0, "b": {"$numberLong": "-1"}}, "name": "a_1_b_-1", "unique": true, "background": true}"#)
        let spec = IndexSpec(document: fromServer)
        XCTAssertEqual(spec.keys, [IndexKey(field: "a", direction: 1), IndexKey(field: "b", direction: -1)])
        XCTAssertTrue(spec.unique)
        XCTAssertEqual(spec.document.keys, ["key", "name", "unique"], "background is never sent")
        XCTAssertEqual(IndexSpec.defaultName(for: spec.keys), "a_1_b_-1")
    }

    func testRedactorHidesPasswordsAsWrittenAndDecoded() {
        let uri = "mongodb://auditor:p%40ss:w0rd@db1:27017,db2/?replicaSet=rs0"
        XCTAssertEqual(Redactor.password(in: uri), "p%40ss:w0rd")
        let redactor = Redactor(uri: uri)
        XCTAssertEqual(redactor.redact("login p%40ss:w0rd and p@ss:w0rd"), "login ***** and *****")
        XCTAssertEqual(Redactor.redactedURI(uri), "mongodb://auditor:*****@db1:27017,db2/?replicaSet=rs0")
        XCTAssertNil(Redactor.password(in: "mongodb://db1/?authSource=admin"))
        XCTAssertEqual(Redactor.password(in: "mongodb://u:raw@pass@host/db"), "raw@pass")
    }
}
