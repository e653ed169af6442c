// Sound because no read passes `bytes.count`: the document's length prefix must equal it, every key ends
// before the closing NUL, and `valueSize` bounds each value by `limit` before the walk hands it out.
/// Walks the elements of a BSON document or array given as its bytes, bounds-checked.
package enum BSONElements {
    /// Calls `body` with each element's name and value; `onError` when the bytes are malformed (the walk stops).
    package static func forEach(
        in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, RawBSONValue) -> Void, onError: () -> Void = {}
    ) {
        guard bytes.count >= 5, Int(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self))) == bytes.count, bytes[bytes.count - 1] == 0 else {
            onError()
            return
        }
        let last = bytes.count - 1
        var offset = 4
        while offset < last {
            let type = bytes[offset]
            var keyEnd = offset + 1
            while keyEnd < last, bytes[keyEnd] != 0 { keyEnd += 1 }
            guard keyEnd < last, let size = valueSize(type, bytes, at: keyEnd + 1, limit: last), keyEnd + 1 + size <= last else {
                onError()
                return
            }
            body(UnsafeRawBufferPointer(rebasing: bytes[(offset + 1)..<keyEnd]),
                 RawBSONValue(type: type, bytes: UnsafeRawBufferPointer(rebasing: bytes[(keyEnd + 1)..<(keyEnd + 1 + size)])))
            offset = keyEnd + 1 + size
        }
    }

    /// The size of a value of `type` at `offset`, or nil when malformed or past `limit`.
    @inlinable package static func valueSize(_ type: UInt8, _ bytes: UnsafeRawBufferPointer, at offset: Int, limit: Int) -> Int? {
        func int32(_ at: Int) -> Int { Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int32.self))) }
        func lengthPrefixed(extra: Int, minimum: Int) -> Int? {
            guard offset + 4 <= limit else { return nil }
            let length = int32(offset)
            guard length >= minimum, length <= limit else { return nil }
            return 4 + extra + length
        }
        switch type {
        case 0x01, 0x09, 0x11, 0x12: return 8
        case 0x02, 0x0D, 0x0E: return lengthPrefixed(extra: 0, minimum: 1)
        case 0x03, 0x04, 0x0F: return lengthPrefixed(extra: 0, minimum: 5).map { $0 - 4 }
        case 0x05: return lengthPrefixed(extra: 1, minimum: 0)
        case 0x06, 0x0A, 0x7F, 0xFF: return 0
        case 0x07: return 12
        case 0x08: return 1
        case 0x0B:
            var end = offset
            while end < limit, bytes[end] != 0 { end += 1 }
            end += 1
            while end < limit, bytes[end] != 0 { end += 1 }
            guard end < limit else { return nil }
            return end + 1 - offset
        case 0x0C: return lengthPrefixed(extra: 12, minimum: 1)
        case 0x10: return 4
        case 0x13: return 16
        default: return nil
        }
    }
}
