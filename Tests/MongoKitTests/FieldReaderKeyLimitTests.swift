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
}
