import Foundation
import TestSupport
import XCTest

@testable import MongoKit

/// Malformed BSON never makes the raw reader read outside its buffer or trap: every `decodeErrors` case
/// of the BSON corpus, and truncations and corrupted length prefixes of every valid case, go through every
/// accessor. `scripts/asan-bson` runs this under AddressSanitizer.
final class CorruptBSONTests: XCTestCase {
    func testCorpusDecodeErrorsTruncationsAndCorruptLengthsAreReadSafely() throws {
        var inputs = 0
        for file in try BSONCorpus.load() {
            let key = file.testKey
            let reader = FieldReader(paths: [key, "\(key).0", "\(key).a", "\(key).0.a", "a", "a.b", "_id", "x.y.z"])
            var cases = file.decodeErrors
            for valid in file.valid + file.degenerate {
                cases.append(valid)
                // Truncations: every length short of the whole.
                for length in stride(from: 0, to: valid.count, by: max(1, valid.count / 64)) { cases.append(Array(valid[0..<length])) }
                // Corrupt length prefixes: of the document, and at every offset a length could be read from.
                for offset in stride(from: 0, to: max(valid.count - 3, 0), by: 1) {
                    for length: Int32 in [0, 1, 4, 5, -1, Int32.max, Int32(valid.count - offset), Int32(valid.count - offset + 1)] {
                        var corrupt = valid
                        withUnsafeBytes(of: length.littleEndian) { for (i, byte) in $0.enumerated() { corrupt[offset + i] = byte } }
                        cases.append(corrupt)
                    }
                }
            }
            for bytes in cases {
                // An exact-size heap copy, so that AddressSanitizer sees any read past its end.
                let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
                defer { buffer.deallocate() }
                buffer.initialize(from: bytes, count: bytes.count)
                reader.load(buffer, length: bytes.count)
                exercise(reader, buffer: buffer, count: bytes.count, file: file.name)
                inputs += 1
            }
        }
        XCTAssertGreaterThan(inputs, 10_000)
        print("CorruptBSONTests: \(inputs) malformed or truncated inputs read")
    }

    /// Every accessor, on every value every path reached.
    func exercise(_ reader: FieldReader, buffer: UnsafeMutablePointer<UInt8>, count: Int, file: String) {
        for index in reader.paths.indices {
            _ = reader.type(index)
            _ = reader.value(index)
            _ = reader.number(index)
            _ = reader.dateMilliseconds(index)
            _ = reader.bool(index)
            _ = reader.string(index)
            _ = reader.valueHash(index)
            if let text = reader.stringBytes(index), let base = text.baseAddress {
                let start = UnsafeRawPointer(base) - UnsafeRawPointer(buffer)
                XCTAssertTrue(start >= 0 && start + text.count <= count, file)
            }
            for position in 0..<reader.valueCount(index) {
                let raw = reader.raw(index, position)
                if let base = raw.bytes.baseAddress {
                    let start = UnsafeRawPointer(base) - UnsafeRawPointer(buffer)
                    XCTAssertTrue(start >= 0 && start + raw.bytes.count <= count, file)
                }
                _ = reader.isWholeArray(index, position)
                _ = reader.value(index, position)
                _ = raw.number
                _ = raw.text
                _ = raw.dateMilliseconds
                _ = raw.equals(raw)
                _ = reader.hash(raw, key: (1, 2))
            }
        }
        _ = reader.keyIDs.map(reader.keyName)
    }
}
