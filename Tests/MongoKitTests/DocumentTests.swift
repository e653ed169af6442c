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
        let redactor = Redactor(uri: uri)
        XCTAssertEqual(redactor.redact("failed for \(uri)"), "failed for mongodb://auditor:*****@db1:27017,db2/?replicaSet=rs0")
        XCTAssertEqual(redactor.redact("user auditor:p@ss:w0rd@db1"), "user auditor:*****@db1", "the decoded user info too")
        XCTAssertEqual(Redactor.redactedURI(uri), "mongodb://auditor:*****@db1:27017,db2/?replicaSet=rs0")
        XCTAssertEqual(Redactor.redactedURI("mongodb://db1/?authSource=admin"), "mongodb://db1/?authSource=admin")
        XCTAssertEqual(Redactor.redactedURI("mongodb://u:raw@pass@host/db"), "mongodb://u:*****@host/db")
    }

    /// Every option libmongoc treats as secret, and any whose name says password, secret, token or key, is
    /// hidden; the redaction is of URI fragments, so a one-letter password leaves ordinary words alone.
    func testRedactorHidesSecretOptionsStructurally() {
        let uri =
            "mongodb://u:x@h/?tls=true&tlsCertificateKeyFilePassword=S3cr3t&authMechanism=MONGODB-AWS"
            + "&authMechanismProperties=AWS_SESSION_TOKEN:T0k3n&appName=app&myApiKey=K3y"
        let redacted = Redactor.redactedURI(uri)
        for secret in ["S3cr3t", "T0k3n", "K3y", ":x@"] { XCTAssertFalse(redacted.contains(secret), "\(secret) in \(redacted)") }
        XCTAssertTrue(redacted.contains("appName=app&"), redacted)
        XCTAssertTrue(redacted.contains("authMechanism=MONGODB-AWS"), redacted)
        XCTAssertEqual(Redactor(uri: uri).redact("the password expired"), "the password expired")
        XCTAssertEqual(Redactor.redactedURI("mongodb://u:pw12@h/?pw12=1&w=1"), "mongodb://u:*****@h/?*****=*****&w=1", "an option named as the password")
    }
}

/// The raw walker behind every scan: pure byte logic, no server needed.
final class FieldReaderTests: XCTestCase {
    static let paths = [
        "double", "string", "channels.min", "channels.max", "tags.1", "a.b.c", "null", "missing", "channels.none",
        "decimal128", "int64", "int32", "datetime", "bool", "binary", "regex", "objectId", "array",
    ]
    static var document: Document {
        var document = DocumentTests.everyType
        document.append("channels", ["min": 1, "max": 48])
        document.append("tags", ["a", "b"])
        document.append("a", ["b": ["c": 5]])
        return document
    }

    func testEveryPathIsFoundInOneWalkAndMatchesTheSlowLookup() {
        let reader = FieldReader(paths: Self.paths)
        let document = Self.document
        document.withDocumentView { reader.load($0) }
        for (index, path) in Self.paths.enumerated() {
            XCTAssertEqual(reader.value(index), document.value(at: path), path)
            XCTAssertEqual(reader.type(index), document.value(at: path)?.type, path)
        }
        XCTAssertEqual(reader.number(2), 1)
        XCTAssertEqual(reader.number(9), 1234.5678)
        XCTAssertEqual(reader.string(4), "b")
        XCTAssertEqual(reader.string(1), "héllo\u{0}world", "the string's length, not its NUL, ends it")
        XCTAssertEqual(reader.dateMilliseconds(12), 1_700_000_000_123)
        XCTAssertEqual(reader.bool(13), true)
        XCTAssertNil(reader.type(7))
        XCTAssertNil(reader.type(8))
        XCTAssertEqual(reader.keyIDs.map(reader.keyName), document.keys, "every top-level name, in order")
    }

    func testAChangedFieldOrderIsStillRead() {
        let reader = FieldReader(paths: ["x", "y.z"])
        let first: Document = ["x": 1, "y": ["z": "first"]]
        let second: Document = ["y": ["q": 0, "z": "second"], "extra": true, "x": 2]
        let third: Document = ["other": 1]
        first.withDocumentView { reader.load($0) }
        XCTAssertEqual(reader.string(1), "first")
        second.withDocumentView { reader.load($0) }
        XCTAssertEqual(reader.number(0), 2)
        XCTAssertEqual(reader.string(1), "second")
        XCTAssertEqual(reader.keyIDs.map(reader.keyName), ["y", "extra", "x"])
        third.withDocumentView { reader.load($0) }
        XCTAssertNil(reader.type(0), "nothing carries over from the previous document")
    }

    func testEqualValuesHashAlikeAndDifferentOnesDoNot() {
        let reader = FieldReader(paths: ["v"])
        func hash(_ value: BSONValue) -> UInt64? {
            // What the reader found is valid only while the document lives.
            (["v": value] as Document).withDocumentView { view in
                reader.load(view)
                return reader.valueHash(0)
            }
        }
        XCTAssertEqual(hash(.int32(1)), hash(.double(1)), "MongoDB compares numbers by value")
        XCTAssertEqual(hash(.int32(1)), hash(.int64(1)))
        XCTAssertNotEqual(hash(.int32(1)), hash(.string("1")))
        XCTAssertNotEqual(hash("uuid-a"), hash("uuid-b"))
        XCTAssertEqual(hash(["k": 1]), hash(["k": 1]))
        XCTAssertNil(hash(.null), "null is not a value to deduplicate")
    }

    /// Corrupts each byte of a real document in turn: the walk must stay inside the buffer and never crash.
    func testCorruptedBytesNeverReadOutsideTheDocument() {
        let reader = FieldReader(paths: Self.paths)
        let original = Self.document.bytes
        var loaded = 0
        for position in 4..<(original.count - 1) {
            for replacement: UInt8 in [0x00, 0x01, 0x7F, 0xFF] where original[position] != replacement {
                var bytes = original
                bytes[position] = replacement
                bytes.withUnsafeBufferPointer { buffer in
                    reader.load(buffer.baseAddress!, length: buffer.count)
                    for index in Self.paths.indices {
                        guard let text = reader.stringBytes(index) else { continue }
                        let start = UnsafeRawPointer(text.baseAddress!) - UnsafeRawPointer(buffer.baseAddress!)
                        XCTAssertTrue(start >= 0 && start + text.count <= buffer.count, "string of \(Self.paths[index]) at \(position)")
                    }
                }
                loaded += 1
            }
        }
        XCTAssertGreaterThan(loaded, original.count * 3)
    }
}
