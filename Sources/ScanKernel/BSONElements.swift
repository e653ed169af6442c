// Sound because no read passes `bytes.count`: the document's length prefix must equal it, every key ends
// before the closing NUL, and `valueSize` bounds each value by `limit` before the walk hands it out. This
// is the one place that bounds a walk over elements: the canonical writer, the matcher and the path
// values read through `BSONCursor`.

/// Walks the elements of a BSON document or array given as its bytes, bounds-checked; `next` returns nil
/// at the end or at the first malformed element (then `isMalformed` is true and the walk is over).
public struct BSONCursor {
    public let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset = 4
    @usableFromInline let last: Int
    @usableFromInline var malformed: Bool
    /// Whether the walk stopped at malformed bytes (or the document's own header was malformed).
    @inlinable public var isMalformed: Bool { malformed }

    @inlinable @inline(__always) public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        if bytes.count >= 5, Int(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self))) == bytes.count, bytes[bytes.count - 1] == 0 {
            last = bytes.count - 1
            malformed = false
        } else {
            last = 0
            malformed = true
        }
    }

    /// The next element's name (without its NUL) and value.
    @inlinable @inline(__always) public mutating func next() -> (name: UnsafeRawBufferPointer, value: RawBSONValue)? {
        guard offset < last else { return nil }
        var keyEnd = offset + 1
        while keyEnd < last, bytes[keyEnd] != 0 { keyEnd += 1 }
        return element(keyEnd: keyEnd)
    }

    /// The next element, trying `expectedName` first: documents of a collection mostly repeat their keys,
    /// and the expected name and its NUL, compared a word at a time, find both the key's end and whether it
    /// is that name (`matched`) without a scan for the NUL. `expectedName` holds no NUL.
    @inlinable @inline(__always) public mutating func next(expecting expectedName: UnsafeRawBufferPointer)
        -> (name: UnsafeRawBufferPointer, value: RawBSONValue, matched: Bool)?
    {
        guard offset < last else { return nil }
        let keyStart = offset + 1
        let expectedEnd = keyStart + expectedName.count
        if expectedEnd < last, bytes[expectedEnd] == 0,
            let start = bytes.baseAddress, let expected = expectedName.baseAddress,
            bytesEqual(start + keyStart, expected, count: expectedName.count)
        {
            return element(keyEnd: expectedEnd).map { ($0.name, $0.value, true) }
        }
        return next().map { ($0.name, $0.value, false) }
    }

    /// The element at `offset` whose key ends (at its NUL) at `keyEnd`, checked; moves past it.
    @inlinable @inline(__always) mutating func element(keyEnd: Int) -> (name: UnsafeRawBufferPointer, value: RawBSONValue)? {
        let type = bytes[offset]
        guard keyEnd < last, let size = BSONElements.valueSize(type, bytes, at: keyEnd + 1, limit: last), keyEnd + 1 + size <= last else {
            offset = last
            malformed = true
            return nil
        }
        let name = UnsafeRawBufferPointer(rebasing: bytes[(offset + 1)..<keyEnd])
        let value = RawBSONValue(type: type, bytes: UnsafeRawBufferPointer(rebasing: bytes[(keyEnd + 1)..<(keyEnd + 1 + size)]))
        offset = keyEnd + 1 + size
        return (name, value)
    }

    /// The first element named `name` of the document `bytes`.
    package static func field(_ name: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> RawBSONValue? {
        var cursor = BSONCursor(bytes)
        while let element = cursor.next() {
            if element.name.count == name.count, element.name.elementsEqual(name) { return element.value }
        }
        return nil
    }
}

/// Whether `count` bytes at `a` and `b` are equal, a word at a time: keys are short, and a call to
/// memcmp costs more than comparing them inline. The caller bounds both ranges.
@inlinable @inline(__always)
public func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    var index = 0
    while index + 8 <= count {
        if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) { return false }
        index += 8
    }
    while index < count {
        if a.load(fromByteOffset: index, as: UInt8.self) != b.load(fromByteOffset: index, as: UInt8.self) { return false }
        index += 1
    }
    return true
}

/// Walks the elements of a BSON document or array given as its bytes, bounds-checked.
public enum BSONElements {
    /// Calls `body` with each element's name and value; `onError` when the bytes are malformed (the walk stops).
    package static func forEach(
        in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, RawBSONValue) -> Void, onError: () -> Void = {}
    ) {
        var cursor = BSONCursor(bytes)
        while let (name, value) = cursor.next() { body(name, value) }
        if cursor.isMalformed { onError() }
    }

    /// The size of a value of `type` at `offset`, or nil when malformed or past `limit`.
    @inlinable public static func valueSize(_ type: UInt8, _ bytes: UnsafeRawBufferPointer, at offset: Int, limit: Int) -> Int? {
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
