// Sound because it reads values only through `RawBSONValue` and `BSONElements`, which bound every read by
// the value's own bytes.

/// A sink for canonical bytes: a buffer (for equality) or a hasher.
package protocol CanonicalSink {
    mutating func write(_ byte: UInt8)
    mutating func write(_ word: UInt64)
    mutating func write(_ bytes: UnsafeRawBufferPointer)
}

package struct CanonicalBytes: CanonicalSink {
    package var bytes: [UInt8] = []
    package init() {}
    package mutating func write(_ byte: UInt8) { bytes.append(byte) }
    package mutating func write(_ word: UInt64) { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func write(_ buffer: UnsafeRawBufferPointer) { bytes.append(contentsOf: buffer) }
}

/// Writes a canonical encoding of a BSON value: equal values (by MongoDB's rules) give equal bytes, and
/// unequal ones different bytes. Hashing it gives hashes consistent with that equality.
package enum BSONCanonical {
    /// MongoDB's canonical type order (strings and symbols share one).
    package static func typeOrder(_ type: UInt8) -> UInt8 {
        switch type {
        case 0xFF: return 1
        case 0x06: return 2  // undefined
        case 0x0A: return 5
        case 0x01, 0x10, 0x12, 0x13: return 10
        case 0x02, 0x0E: return 15
        case 0x03: return 20
        case 0x04: return 25
        case 0x05: return 30
        case 0x07: return 35
        case 0x08: return 40
        case 0x09: return 45
        case 0x11: return 47
        case 0x0B: return 50
        case 0x0C: return 55
        case 0x0D: return 60
        case 0x0F: return 65
        case 0x7F: return 127
        default: return 200
        }
    }

    /// The first word of each value holds its canonical type in the low byte and a kind or a length above.
    package static func write<Sink: CanonicalSink>(_ value: RawBSONValue, to sink: inout Sink) {
        let tag = UInt64(typeOrder(value.type))
        let bytes = value.bytes
        switch value.type {
        case 0x01, 0x10, 0x12, 0x13:
            guard let number = value.number else { writeMalformed(tag, bytes, to: &sink); return }
            switch number {
            case .nan: sink.write(tag)
            case .negativeInfinity: sink.write(tag | 1 << 8)
            case .integer(let i): sink.write(tag | 2 << 8); sink.write(UInt64(bitPattern: i))
            case .double(let d): sink.write(tag | 3 << 8); sink.write(d.bitPattern)
            case .decimal(let negative, let high, let low, let exponent):
                sink.write(tag | (negative ? 4 : 5) << 8); sink.write(high); sink.write(low); sink.write(UInt64(bitPattern: Int64(exponent)))
            case .positiveInfinity: sink.write(tag | 6 << 8)
            }
        case 0x02, 0x0E, 0x0D:
            guard let text = RawBSONValue(type: 0x02, bytes: bytes).text else { writeMalformed(tag, bytes, to: &sink); return }
            sink.write(tag | UInt64(text.count) << 8)
            sink.write(text)
        case 0x03, 0x04:
            sink.write(tag)
            writeDocument(bytes, names: value.type == 0x03, to: &sink)
        case 0x08:
            sink.write(tag | (bytes.count == 1 && bytes[0] != 0 ? 1 << 8 : 0))
        case 0x06, 0x0A, 0x7F, 0xFF:
            sink.write(tag)
        default:
            // Binary, ObjectId, date, timestamp, regex, DBPointer, code with scope: by their bytes.
            sink.write(tag | UInt64(bytes.count) << 8)
            sink.write(bytes)
        }
    }

    private static func writeMalformed<Sink: CanonicalSink>(_ tag: UInt64, _ bytes: UnsafeRawBufferPointer, to sink: inout Sink) {
        sink.write(tag | 0xEE << 8 | UInt64(bytes.count) << 16)
        sink.write(bytes)
    }

    /// Elements in order: for a document each name and value, for an array each value.
    static func writeDocument<Sink: CanonicalSink>(_ bytes: UnsafeRawBufferPointer, names: Bool, to sink: inout Sink) {
        var failed = false
        BSONElements.forEach(in: bytes) { name, value in
            sink.write(UInt8(1))
            if names {
                sink.write(UInt64(name.count))
                sink.write(name)
            }
            write(value, to: &sink)
        } onError: {
            failed = true
        }
        sink.write(UInt8(0))
        if failed { writeMalformed(0xEE, bytes, to: &sink) }
    }
}

extension BSONCanonical {
    /// A keyed hash consistent with MongoDB's equality (the canonical bytes through SipHash). Not generic,
    /// so that callers in other modules run the encoder specialised for the hasher, not the generic one.
    package static func hash(_ value: RawBSONValue, key: (UInt64, UInt64)) -> UInt64 {
        var hasher = SipHasher(key: key)
        write(value, to: &hasher)
        return hasher.finalize()
    }

    /// The canonical bytes of a value (see `write`).
    package static func bytes(_ value: RawBSONValue) -> [UInt8] {
        var sink = CanonicalBytes()
        write(value, to: &sink)
        return sink.bytes
    }
}
