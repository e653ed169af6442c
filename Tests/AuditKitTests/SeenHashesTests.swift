import ScanKernel
import TestSupport
import XCTest

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

    /// First sightings' `_id`s come back exactly: sequential ObjectIds (kept as small differences), ones out
    /// of order or with a new timestamp, then, once another type comes, every type.
    func testFirstSightingsGiveBackEveryID() throws {
        var store = FirstSightings()
        var random = SeededRandom(seed: 5)
        var kept: [(payload: UInt32, type: UInt8, bytes: [UInt8])] = []
        var low: UInt64 = 1 << 40
        var high: UInt32 = 1_700_000_000
        func add(_ type: UInt8, _ bytes: [UInt8]) {
            let payload = bytes.withUnsafeBytes { store.append(type: type, $0) }
            kept.append((payload, type, bytes))
        }
        for _ in 0..<1_000 {
            switch random.next() % 10 {
            case 0: low = random.next()
            case 1: high += 1
            case 2: low &-= 3
            default: low &+= random.next() % 300 + 1
            }
            add(0x07, withUnsafeBytes(of: high.bigEndian, Array.init) + withUnsafeBytes(of: low.bigEndian, Array.init))
        }
        XCTAssertLessThan(store.storedBytes, 1_000 * 8, "sequential ObjectIds take a few bytes each")
        for entry in kept { XCTAssertEqual(store.rawID(at: entry.payload)?.bytes, entry.bytes) }
        add(0x10, [7, 0, 0, 0])
        add(0x02, [2, 0, 0, 0, 0x61, 0])
        for entry in kept {
            let id = try XCTUnwrap(store.rawID(at: entry.payload))
            XCTAssertEqual(id.type, entry.type)
            XCTAssertEqual(id.bytes, entry.bytes)
        }
        XCTAssertEqual(store.id(at: kept.last!.payload)?.value, .string("a"))
        XCTAssertNil(store.rawID(at: 0))
        XCTAssertNil(store.rawID(at: UInt32(kept.count + 1)))
        XCTAssertEqual([UInt8](repeating: 0, count: 8).withUnsafeBytes { store.append(type: 0x09, $0) }, 0, "a date _id overflows")
        XCTAssertTrue(store.overflowed)
    }

    /// With payloads, a table slot holds the hash's high bits and the payload in its low ones.
    func testPayloadsLiveInTheTableSlots() {
        var seen = SeenHashes(expectedItems: 1_000, exactBytes: 1 << 20, payloads: true)
        let mask: UInt64 = (1 << UInt64(FirstSightings.payloadBits)) - 1
        let values = hashes(5_000, seed: 6).map { $0 & ~mask }
        for (index, value) in values.enumerated() {
            let (present, slot) = seen.insert(value, recording: true)
            XCTAssertFalse(present)
            seen.setPayload(try! XCTUnwrap(slot), UInt32(index + 1))
        }
        XCTAssertTrue(seen.isExact, "grew within its budget")
        for (index, value) in values.enumerated() {
            XCTAssertTrue(seen.insert(value))
            XCTAssertEqual(seen.payload(of: value), UInt32(index + 1))
        }
    }
}
