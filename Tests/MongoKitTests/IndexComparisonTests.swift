import XCTest

@testable import MongoKit

/// The index comparisons without a server: for each option, indexes that differ only in it.
final class IndexComparisonTests: XCTestCase {
    let a = [IndexKey(field: "a", direction: 1)]
    let ab = [IndexKey(field: "a", direction: 1), IndexKey(field: "b", direction: 1)]
    let filter: Document = ["deleted": false]
    let caseInsensitive: Document = ["locale": "en", "strength": 2]

    func index(_ keys: [IndexKey], _ change: (inout IndexSpec) -> Void = { _ in }) -> IndexSpec {
        var spec = IndexSpec(keys: keys)
        change(&spec)
        return spec
    }

    func testEveryOptionIsInTheTableOnceAndRoundTripsThroughTheCreateIndexesDocument() {
        let full = index(ab) {
            $0.unique = true
            $0.sparse = true
            $0.partialFilterExpression = self.filter
            $0.expireAfterSeconds = 60
            $0.collation = self.caseInsensitive
            $0.hidden = true
        }
        XCTAssertEqual(
            IndexSpec.options.map(\.serverName),
            ["unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "collation", "hidden"])
        XCTAssertEqual(
            IndexSpec.options.map(\.specName),
            ["unique", "sparse", "partial_filter", "expire_after_seconds", "collation", "hidden"])
        for option in IndexSpec.options {
            XCTAssertNotNil(full.document[option.serverName], option.serverName)
            XCTAssertNil(IndexSpec(keys: ab).document[option.serverName], "\(option.serverName) is written only when set")
        }
        XCTAssertEqual(IndexSpec(document: full.document), full)
        XCTAssertEqual(full.document.keys, ["key", "name", "unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "collation", "hidden"])
    }

    // MARK: same keys

    func testUniqueRequiredIsNotSatisfiedByANonUniqueIndex() {
        XCTAssertFalse(index(a).satisfies(index(a) { $0.unique = true }))
        XCTAssertTrue(index(a) { $0.unique = true }.satisfies(index(a)), "a unique index serves a plain one")
    }

    func testSparseMustMatch() {
        XCTAssertFalse(index(a).satisfies(index(a) { $0.sparse = true }))
        XCTAssertFalse(index(a) { $0.sparse = true }.satisfies(index(a)))
    }

    func testPartialFilterMustMatch() {
        XCTAssertFalse(index(a).satisfies(index(a) { $0.partialFilterExpression = self.filter }))
        XCTAssertFalse(index(a) { $0.partialFilterExpression = self.filter }.satisfies(index(a)))
        XCTAssertFalse(index(a) { $0.partialFilterExpression = ["deleted": true] }.satisfies(index(a) { $0.partialFilterExpression = self.filter }))
        XCTAssertTrue(index(a) { $0.partialFilterExpression = self.filter }.satisfies(index(a) { $0.partialFilterExpression = self.filter }))
    }

    func testTTLMustMatchWhenRequired() {
        XCTAssertFalse(index(a).satisfies(index(a) { $0.expireAfterSeconds = 60 }))
        XCTAssertFalse(index(a) { $0.expireAfterSeconds = 30 }.satisfies(index(a) { $0.expireAfterSeconds = 60 }))
        XCTAssertTrue(index(a) { $0.expireAfterSeconds = 60 }.satisfies(index(a) { $0.expireAfterSeconds = 60 }))
        XCTAssertTrue(index(a) { $0.expireAfterSeconds = 60 }.satisfies(index(a)), "TTL not required")
    }

    func testCollationMustSatisfy() {
        XCTAssertFalse(index(a).satisfies(index(a) { $0.collation = self.caseInsensitive }))
        XCTAssertFalse(index(a) { $0.collation = self.caseInsensitive }.satisfies(index(a)))
        XCTAssertFalse(index(a) { $0.collation = ["locale": "en", "strength": 3] }.satisfies(index(a) { $0.collation = self.caseInsensitive }))
        let serverFilled: Document = ["locale": "en", "caseLevel": false, "strength": .int32(2), "numericOrdering": false]
        XCTAssertTrue(index(a) { $0.collation = serverFilled }.satisfies(index(a) { $0.collation = self.caseInsensitive }))
        XCTAssertTrue(index(a) { $0.collation = ["locale": "simple"] }.satisfies(index(a)))
    }

    func testHiddenIsLeftToTheCallerForSameKeys() {
        XCTAssertTrue(index(a) { $0.hidden = true }.satisfies(index(a)), "critical_indexes reports it as hidden, not missing")
    }

    func testKeysMustMatchInOrderAndDirection() {
        XCTAssertFalse(index(ab).satisfies(index(a)))
        XCTAssertFalse(index([IndexKey(field: "a", direction: -1)]).satisfies(index(a)))
        XCTAssertFalse(index(ab.reversed()).satisfies(index(ab)))
    }

    func testATextIndexAsTheServerListsItSatisfiesItsSpec() {
        let listed = IndexSpec(document: [
            "v": 2, "key": ["_fts": "text", "_ftsx": 1], "name": "title_text", "weights": ["title": 1],
            "default_language": "english", "language_override": "language", "textIndexVersion": 3,
        ])
        XCTAssertTrue(listed.satisfies(index([IndexKey(field: "title", kind: "text")])))
        XCTAssertFalse(listed.satisfies(index([IndexKey(field: "body", kind: "text")])))
    }

    // MARK: prefix

    func testACompoundIndexServesItsPrefixWhenTheOptionsAllowIt() {
        XCTAssertTrue(index(ab).servesAsPrefix(of: index(a)))
        XCTAssertFalse(index(a).servesAsPrefix(of: index(a)), "same keys is not a prefix")
        XCTAssertFalse(index(ab.reversed()).servesAsPrefix(of: index(a)))
    }

    func testPrefixDoesNotServeUniqueness() {
        XCTAssertFalse(index(ab).servesAsPrefix(of: index(a) { $0.unique = true }))
        XCTAssertFalse(index(ab) { $0.unique = true }.servesAsPrefix(of: index(a) { $0.unique = true }))
        XCTAssertTrue(index(ab) { $0.unique = true }.servesAsPrefix(of: index(a)))
    }

    func testPrefixNeverServesWhenEitherIsSparse() {
        XCTAssertFalse(index(ab) { $0.sparse = true }.servesAsPrefix(of: index(a)))
        XCTAssertFalse(index(ab).servesAsPrefix(of: index(a) { $0.sparse = true }))
        XCTAssertFalse(index(ab) { $0.sparse = true }.servesAsPrefix(of: index(a) { $0.sparse = true }))
    }

    func testPrefixWithAnotherPartialFilterDoesNotServe() {
        XCTAssertFalse(index(ab) { $0.partialFilterExpression = self.filter }.servesAsPrefix(of: index(a)))
        XCTAssertFalse(index(ab).servesAsPrefix(of: index(a) { $0.partialFilterExpression = self.filter }))
        XCTAssertFalse(
            index(ab) { $0.partialFilterExpression = ["deleted": true] }.servesAsPrefix(of: index(a) { $0.partialFilterExpression = self.filter }))
        XCTAssertTrue(index(ab) { $0.partialFilterExpression = self.filter }.servesAsPrefix(of: index(a) { $0.partialFilterExpression = self.filter }))
    }

    func testPrefixDoesNotServeTTL() {
        XCTAssertFalse(index(ab).servesAsPrefix(of: index(a) { $0.expireAfterSeconds = 60 }))
        XCTAssertTrue(index(ab) { $0.expireAfterSeconds = 60 }.servesAsPrefix(of: index(a)))
    }

    func testPrefixCollationMustSatisfy() {
        XCTAssertFalse(index(ab) { $0.collation = self.caseInsensitive }.servesAsPrefix(of: index(a)))
        XCTAssertFalse(index(ab).servesAsPrefix(of: index(a) { $0.collation = self.caseInsensitive }))
        XCTAssertTrue(index(ab) { $0.collation = self.caseInsensitive }.servesAsPrefix(of: index(a) { $0.collation = self.caseInsensitive }))
    }

    func testAHiddenIndexServesNoPrefix() {
        XCTAssertFalse(index(ab) { $0.hidden = true }.servesAsPrefix(of: index(a)))
    }

    // MARK: redundancy (index_hygiene)

    func testRedundantPrefixFollowsPrefixServing() {
        XCTAssertTrue(index(a).isRedundantPrefix(of: index(ab)))
        XCTAssertFalse(index(ab).isRedundantPrefix(of: index(a)))
        XCTAssertFalse(index(a).isRedundantPrefix(of: index(ab) { $0.partialFilterExpression = self.filter }))
        XCTAssertFalse(index(a) { $0.partialFilterExpression = self.filter }.isRedundantPrefix(of: index(ab)))
        XCTAssertFalse(
            index(a) { $0.partialFilterExpression = self.filter }.isRedundantPrefix(of: index(ab) { $0.partialFilterExpression = self.filter }),
            "partial indexes are never proposed for dropping")
        XCTAssertFalse(index(a).isRedundantPrefix(of: index(ab) { $0.sparse = true }))
        XCTAssertFalse(index(a) { $0.sparse = true }.isRedundantPrefix(of: index(ab)))
        XCTAssertFalse(index(a) { $0.unique = true }.isRedundantPrefix(of: index(ab)))
        XCTAssertFalse(index(a) { $0.expireAfterSeconds = 60 }.isRedundantPrefix(of: index(ab)))
        XCTAssertFalse(index(a).isRedundantPrefix(of: index(ab) { $0.collation = self.caseInsensitive }))
        XCTAssertFalse(index(a) { $0.collation = self.caseInsensitive }.isRedundantPrefix(of: index(ab)))
        XCTAssertFalse(index(a).isRedundantPrefix(of: index(ab) { $0.hidden = true }))
    }

    // MARK: differences (migrations: exact)

    func testDifferencesNameEveryOptionThatDiffers() {
        let plain = index(a)
        for option in IndexSpec.options {
            var changed = plain
            switch option.value {
            case .flag(let path): changed[keyPath: path] = true
            case .seconds(let path): changed[keyPath: path] = 60
            case .document(let path), .collation(let path): changed[keyPath: path] = ["locale": "en"]
            }
            XCTAssertEqual(plain.differences(from: changed).count, 1, option.serverName)
            XCTAssertTrue(plain.differences(from: changed).first?.hasPrefix(option.serverName + ":") ?? false, option.serverName)
            XCTAssertEqual(changed.differences(from: plain).count, 1, option.serverName)
        }
        XCTAssertEqual(index(a) { $0.unique = true }.differences(from: index(a)), ["unique: existing true, wanted false"])
        XCTAssertEqual(index(a) { $0.expireAfterSeconds = 60 }.differences(from: index(a)), ["expireAfterSeconds: existing 60, wanted none"])
    }
}
