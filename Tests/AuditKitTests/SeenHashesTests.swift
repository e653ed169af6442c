import XCTest
import TestSupport

@testable import AuditKit

/// The memory-bounded structures behind unique_values: pure logic, no server needed.
final class SeenHashesTests: XCTestCase {
    /// Well-mixed 64-bit values, as FieldReader's hashes are.
    func hashes(_ count: Int, seed: UInt64) -> [UInt64] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in random.next() }
    }

    func testTheTableFindsExactlyTheRepeats() {
        var seen = SeenHashes(expectedItems: 50_000, exactBytes: 16 << 20)
        XCTAssertTrue(seen.isExact)
        let values = hashes(50_000, seed: 1)
        XCTAssertEqual(values.filter { seen.insert($0) }.count, 0)
        XCTAssertEqual(values.prefix(1_000).filter { seen.insert($0) }.count, 1_000)
        XCTAssertFalse(seen.insert(0), "zero is a value like any other")
        XCTAssertTrue(seen.insert(0))
    }

    /// A collection that outgrows its estimate: the table doubles while it fits, then hands over to a Bloom
    /// filter, and no repeat is missed on the way.
    func testOutgrowingTheBudgetNeverMissesARepeat() {
        var seen = SeenHashes(expectedItems: 1_000, exactBytes: 64 << 10)
        let values = hashes(40_000, seed: 2)
        for value in values { _ = seen.insert(value) }
        XCTAssertFalse(seen.isExact)
        // Past its estimate the filter reports more false repeats (the query weeds them out), never fewer.
        XCTAssertEqual(values.filter { seen.insert($0) }.count, values.count, "every second sighting is reported")
    }

    func testTheBloomFilterStaysNearItsFalsePositiveRate() {
        var filter = BloomFilter(expectedItems: 200_000)
        for value in hashes(200_000, seed: 3) { _ = filter.insert(value) }
        // New values, a tenth of the load, so the filter stays near its design point while probed.
        let falsePositives = hashes(20_000, seed: 4).filter { filter.insert($0) }.count
        XCTAssertLessThan(Double(falsePositives) / 20_000, 0.005, "\(falsePositives) false positives")
    }
}
