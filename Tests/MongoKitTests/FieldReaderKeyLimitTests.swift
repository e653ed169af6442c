import XCTest

@testable import MongoKit

final class FieldReaderKeyLimitTests: XCTestCase {
    /// Names past `keyNameLimit` share one id, which has no name: the wording is the caller's.
    func testNamesBeyondTheLimitShareOneUnnamedID() {
        let reader = FieldReader(paths: ["x"])
        let names = (0...FieldReader.keyNameLimit).map { "k\($0)" }
        let document = Document(names.map { ($0, BSONValue.int32(1)) })
        document.withDocumentView { reader.load($0) }
        let ids = reader.keyIDs
        XCTAssertEqual(ids.count, names.count)
        // "x" (a path's name) took the first id, so the last two names are past the limit.
        XCTAssertEqual(Array(ids.suffix(3)).map { $0 == reader.otherKeyID }, [false, true, true])
        XCTAssertNil(reader.keyName(reader.otherKeyID))
        XCTAssertEqual(reader.keyName(ids[0]), "k0")
        XCTAssertEqual(reader.keyName(ids[ids.count - 3]), "k\(FieldReader.keyNameLimit - 2)")
        // The same document again: the overflow bucket still matches nothing by name.
        document.withDocumentView { reader.load($0) }
        XCTAssertEqual(reader.keyIDs.last, reader.otherKeyID)
    }

    /// `keyIDsRepeat` says whether the document has exactly the previous document's keys, in order.
    func testKeyIDsRepeatOnlyForTheSameKeysInTheSameOrder() {
        let reader = FieldReader(paths: ["a"])
        func load(_ document: Document) -> (repeats: Bool, ids: [Int]) {
            document.withDocumentView { reader.load($0) }
            return (reader.keyIDsRepeat, Array(reader.keyIDs))
        }
        let ab: Document = ["a": 1, "b": 2]
        let first = load(ab)
        XCTAssertFalse(first.repeats)
        XCTAssertEqual(load(ab).repeats, true)
        XCTAssertEqual(load(["a": "other value", "b": .null]).repeats, true)
        XCTAssertEqual(load(["a": 1]).repeats, false, "a key fewer")
        XCTAssertEqual(load(["a": 1, "b": 2]).repeats, false, "a key more")
        XCTAssertEqual(load(["b": 1, "a": 2]).repeats, false, "another order")
        XCTAssertEqual(load(["b": 1, "a": 2]).repeats, true)
        XCTAssertEqual(load(["b": 1, "c": 2]).repeats, false, "another name")
        let again = load(ab)
        XCTAssertFalse(again.repeats)
        XCTAssertEqual(again.ids, first.ids)
        // A malformed document never repeats, nor does the next one repeat it.
        let bytes: [UInt8] = [5, 0, 0, 0, 1]
        bytes.withUnsafeBufferPointer { reader.load($0.baseAddress!, length: bytes.count) }
        XCTAssertFalse(reader.keyIDsRepeat)
        XCTAssertEqual(load(ab).repeats, false)
    }
}
