import CMongoc
import Foundation
import ScanKernel

/// Runs `mongoc_init` exactly once per process, before any other libmongoc or libbson call.
let libmongocInitialized: Void = {
    // Instead of libmongoc's own handler, which prints to stderr.
    LibmongocLog.install()
    mongoc_init()
    atexit { mongoc_cleanup() }
}()

/// Owns one heap `bson_t` and destroys it when the last `Document` sharing it goes away.
final class DocumentStorage {
    let pointer: OpaquePointer

    init(stealing pointer: OpaquePointer) { self.pointer = pointer }
    convenience init() { self.init(stealing: bson_new()!) }
    convenience init(copying pointer: OpaquePointer) {
        self.init(stealing: bson_copy(pointer)!)
    }

    deinit { bson_destroy(pointer) }
}

/// An ordered BSON document backed by a libbson `bson_t`, with value semantics (copy-on-write).
public struct Document: Equatable, @unchecked Sendable {
    var storage: DocumentStorage

    public init() { storage = DocumentStorage() }
    init(stealing pointer: OpaquePointer) { storage = DocumentStorage(stealing: pointer) }
    init(copying pointer: OpaquePointer) { storage = DocumentStorage(copying: pointer) }

    /// Builds a document from key-value pairs, keeping their order.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, BSONValue) {
        self.init()
        for (key, value) in pairs { append(key, value) }
    }

    /// Parses canonical or relaxed Extended JSON.
    public init(json: String) throws {
        _ = libmongocInitialized
        let error = ma_error_new()!
        defer { ma_error_free(error) }
        guard let pointer = bson_new_from_json(json, -1, error) else {
            throw MongoError.invalidDocument(String(cString: ma_error_message(error)))
        }
        self.init(stealing: pointer)
    }

    /// Builds a document from the raw bytes of a BSON document.
    public init(bytes: [UInt8]) throws {
        _ = libmongocInitialized
        guard let pointer = bytes.withUnsafeBufferPointer({ bson_new_from_data($0.baseAddress, $0.count) }),
            bson_validate(pointer, BSON_VALIDATE_NONE, nil)
        else { throw MongoError.invalidDocument("not a valid BSON document") }
        self.init(stealing: pointer)
    }

    var pointer: OpaquePointer { storage.pointer }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = DocumentStorage(copying: storage.pointer) }
    }

    /// The encoded document.
    public var bytes: [UInt8] {
        let data = bson_get_data(pointer)!
        return Array(UnsafeBufferPointer(start: data, count: Int(ma_bson_len(pointer))))
    }

    public var byteCount: Int { Int(ma_bson_len(pointer)) }
    public var count: Int { Int(bson_count_keys(pointer)) }
    public var isEmpty: Bool { count == 0 }

    /// Appends a field at the end (BSON allows repeated keys; `set` replaces instead).
    public mutating func append(_ key: String, _ value: BSONValue) {
        makeUnique()
        appendValue(value, key: key, to: pointer)
    }

    /// Sets `key` to `value`, replacing an existing field in place and keeping the field order.
    public mutating func set(_ key: String, _ value: BSONValue?) {
        if let index = keys.firstIndex(of: key) {
            var pairs = elements
            if let value { pairs[index].1 = value } else { pairs.remove(at: index) }
            self = Document(pairs)
        } else if let value {
            append(key, value)
        }
    }

    public subscript(key: String) -> BSONValue? {
        get { withIterator { iter in bson_iter_init_find(iter, pointer, key) ? readValue(iter) : nil } }
        set { set(key, newValue) }
    }

    /// The value at a dotted path into nested documents and arrays (`channels.min`, `tags.0`).
    public func value(at path: String) -> BSONValue? {
        withDocumentView { $0.value(at: path) }
    }

    public var keys: [String] { elements.map(\.0) }

    /// All fields, in order.
    public var elements: [(String, BSONValue)] {
        withIterator { iter in
            var result: [(String, BSONValue)] = []
            guard bson_iter_init(iter, pointer) else { return result }
            while bson_iter_next(iter) {
                result.append((String(cString: bson_iter_key(iter)), readValue(iter)))
            }
            return result
        }
    }

    /// Relaxed Extended JSON, as a person reads it (`{"a": 1, "when": {"$date": "..."}}`).
    public var relaxedJSON: String { json(canonical: false) }
    /// Canonical Extended JSON, which keeps every type exactly.
    public var canonicalJSON: String { json(canonical: true) }

    private func json(canonical: Bool) -> String {
        var length = 0
        let cString =
            canonical
            ? bson_as_canonical_extended_json(pointer, &length)
            : bson_as_relaxed_extended_json(pointer, &length)
        guard let cString else { return "{}" }
        defer { bson_free(cString) }
        return String(cString: cString)
    }

    /// Gives read access to the raw document for the duration of `body`, without building Swift values.
    public func withDocumentView<T>(_ body: (DocumentView) throws -> T) rethrows -> T {
        let iterators = IteratorPair()
        return try withExtendedLifetime(iterators) { try body(DocumentView(pointer: pointer, iterators: iterators)) }
    }

    public static func == (lhs: Document, rhs: Document) -> Bool {
        bson_equal(lhs.pointer, rhs.pointer)
    }
}

extension Document: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, BSONValue)...) { self.init(elements) }
}

extension Document: CustomStringConvertible {
    public var description: String { relaxedJSON }
}

/// Two C-allocated iterators reused across lookups (find_descendant needs a parent and a child).
final class IteratorPair {
    let root: OpaquePointer
    let child: OpaquePointer
    init() {
        _ = libmongocInitialized
        root = ma_iter_new()!
        child = ma_iter_new()!
    }
    deinit {
        ma_iter_free(root)
        ma_iter_free(child)
    }
}

/// A borrowed, read-only view of a raw BSON document: the fast path for scans. It reads only the fields
/// asked for, straight from the bytes, and is valid only inside the closure that receives it.
public struct DocumentView {
    let pointer: OpaquePointer
    /// Not retained (a view is made per document of a scan): whoever makes the view keeps the pair alive
    /// for as long as the view is valid.
    let iterators: Unretained<IteratorPair>

    init(pointer: OpaquePointer, iterators: IteratorPair) {
        self.pointer = pointer
        self.iterators = Unretained(iterators)
    }

    /// The type of the field at a dotted path, or nil when the path does not exist.
    public func type(at path: String) -> BSONType? {
        find(path) { BSONType(rawValue: UInt8(truncatingIfNeeded: bson_iter_type($0).rawValue)) } ?? nil
    }

    /// The value at a dotted path, or nil when the path does not exist.
    public func value(at path: String) -> BSONValue? {
        find(path) { readValue($0) }
    }

    /// Builds a `Document` copy of the whole view (for examples and slow paths).
    public var document: Document { Document(copying: pointer) }

    /// The document's encoded bytes, borrowed for the duration of `body` (no copy): for readers that walk
    /// the BSON themselves. The bytes are as the server sent them; the reader must bounds-check.
    public func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try body(UnsafeRawBufferPointer(start: bson_get_data(pointer), count: Int(ma_bson_len(pointer))))
    }

    private func find<T>(_ path: String, _ read: (OpaquePointer) -> T) -> T? {
        let (root, child) = iterators.with { ($0.root, $0.child) }
        guard bson_iter_init(root, pointer) else { return nil }
        if !path.utf8.contains(UInt8(ascii: ".")) {
            return bson_iter_find(root, path) ? read(root) : nil
        }
        return bson_iter_find_descendant(root, path, child) ? read(child) : nil
    }
}

private func withIterator<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
    _ = libmongocInitialized
    let iter = ma_iter_new()!
    defer { ma_iter_free(iter) }
    return try body(iter)
}

/// Reads the value an iterator points at into a Swift value; recursive for documents and arrays.
func readValue(_ iter: OpaquePointer) -> BSONValue {
    switch UInt8(truncatingIfNeeded: bson_iter_type(iter).rawValue) {
    case 0x01: return .double(bson_iter_double(iter))
    case 0x02:
        var length: UInt32 = 0
        let chars = bson_iter_utf8(iter, &length)!
        return .string(decodeString(chars, length))
    case 0x03: return .document(subDocument(iter, array: false))
    case 0x04: return .array(subDocument(iter, array: true).elements.map(\.1))
    case 0x05:
        var subtype = BSON_SUBTYPE_BINARY
        var length: UInt32 = 0
        var data: UnsafePointer<UInt8>?
        bson_iter_binary(iter, &subtype, &length, &data)
        let bytes = data.map { Data(bytes: $0, count: Int(length)) } ?? Data()
        return .binary(subtype: UInt8(truncatingIfNeeded: subtype.rawValue), data: bytes)
    case 0x06: return .undefined
    case 0x07: return .objectId(readObjectID(iter))
    case 0x08: return .bool(bson_iter_bool(iter))
    case 0x09: return .datetime(Date(timeIntervalSince1970: Double(bson_iter_date_time(iter)) / 1000))
    case 0x0A: return .null
    case 0x0B:
        var options: UnsafePointer<CChar>?
        let pattern = bson_iter_regex(iter, &options)
        return .regex(
            pattern: pattern.map { String(cString: $0) } ?? "", options: options.map { String(cString: $0) } ?? "")
    case 0x0C:
        var length: UInt32 = 0
        var collection: UnsafePointer<CChar>?
        var oid: UnsafePointer<bson_oid_t>?
        bson_iter_dbpointer(iter, &length, &collection, &oid)
        let bytes = oid.map { pointer in withUnsafeBytes(of: pointer.pointee.bytes) { Array($0) } }
        return .dbPointer(
            collection: collection.map { decodeString($0, length) } ?? "",
            id: ObjectID(bytes: bytes ?? Array(repeating: 0, count: 12)))
    case 0x0D:
        var length: UInt32 = 0
        return .javascript(bson_iter_code(iter, &length).map { decodeString($0, length) } ?? "")
    case 0x0E:
        var length: UInt32 = 0
        return .symbol(bson_iter_symbol(iter, &length).map { decodeString($0, length) } ?? "")
    case 0x0F:
        var length: UInt32 = 0
        var scopeLength: UInt32 = 0
        var scope: UnsafePointer<UInt8>?
        let code = bson_iter_codewscope(iter, &length, &scopeLength, &scope)
        var scopeDocument: Document?
        if let scope, let copy = bson_new_from_data(scope, Int(scopeLength)) { scopeDocument = Document(stealing: copy) }
        return .javascriptWithScope(code: code.map { decodeString($0, length) } ?? "", scope: scopeDocument ?? Document())
    case 0x10: return .int32(bson_iter_int32(iter))
    case 0x11:
        var seconds: UInt32 = 0
        var increment: UInt32 = 0
        bson_iter_timestamp(iter, &seconds, &increment)
        return .timestamp(seconds: seconds, increment: increment)
    case 0x12: return .int64(bson_iter_int64(iter))
    case 0x13:
        var buffer = [CChar](repeating: 0, count: Int(BSON_DECIMAL128_STRING))
        ma_decimal128_string(iter, &buffer)
        return .decimal128(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    case 0x7F: return .maxKey
    case 0xFF: return .minKey
    default: return .undefined
    }
}

private func decodeString(_ chars: UnsafePointer<CChar>, _ length: UInt32) -> String {
    // BSON strings may hold NUL bytes, so decode by length rather than as a C string.
    let bytes = UnsafeRawPointer(chars).assumingMemoryBound(to: UInt8.self)
    return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(length)), as: UTF8.self)
}

private func readObjectID(_ iter: OpaquePointer) -> ObjectID {
    var bytes = [UInt8](repeating: 0, count: 12)
    ma_oid_bytes(iter, &bytes)
    return ObjectID(bytes: bytes)
}

func generateObjectID() -> ObjectID {
    _ = libmongocInitialized
    var bytes = [UInt8](repeating: 0, count: 12)
    ma_oid_generate(&bytes)
    return ObjectID(bytes: bytes)
}

private func subDocument(_ iter: OpaquePointer, array: Bool) -> Document {
    var length: UInt32 = 0
    var data: UnsafePointer<UInt8>?
    if array { bson_iter_array(iter, &length, &data) } else { bson_iter_document(iter, &length, &data) }
    guard let data, let pointer = bson_new_from_data(data, Int(length)) else { return Document() }
    return Document(stealing: pointer)
}

/// Appends one value under `key`; arrays are written with the keys "0", "1", ... as BSON requires.
func appendValue(_ value: BSONValue, key: String, to doc: OpaquePointer) {
    switch value {
    case .double(let v): bson_append_double(doc, key, -1, v)
    case .string(let s):
        // Pass the byte length so that strings holding NUL bytes survive.
        s.withCString { _ = bson_append_utf8(doc, key, -1, $0, Int32(s.utf8.count)) }
    case .document(let d): ma_append_document(doc, key, d.pointer)
    case .array(let values):
        let array = Document(values.enumerated().map { (String($0.offset), $0.element) })
        ma_append_array(doc, key, array.pointer)
    case .binary(let subtype, let data):
        let bytes = [UInt8](data)
        bson_append_binary(doc, key, -1, bson_subtype_t(rawValue: UInt32(subtype)), bytes, UInt32(bytes.count))
    case .undefined: bson_append_undefined(doc, key, -1)
    case .objectId(let id): ma_append_oid_bytes(doc, key, id.bytes)
    case .bool(let b): bson_append_bool(doc, key, -1, b)
    case .datetime(let date): bson_append_date_time(doc, key, -1, clampedMilliseconds(date))
    case .null: bson_append_null(doc, key, -1)
    case .regex(let pattern, let options): bson_append_regex(doc, key, -1, pattern, options)
    case .dbPointer(let collection, let id):
        var oid = bson_oid_t()
        withUnsafeMutableBytes(of: &oid.bytes) { raw in for (i, b) in id.bytes.enumerated() { raw[i] = b } }
        bson_append_dbpointer(doc, key, -1, collection, &oid)
    case .javascript(let code): bson_append_code(doc, key, -1, code)
    case .symbol(let s): bson_append_symbol(doc, key, -1, s, Int32(s.utf8.count))
    case .javascriptWithScope(let code, let scope):
        bson_append_code_with_scope(doc, key, -1, code, scope.pointer)
    case .int32(let v): bson_append_int32(doc, key, -1, v)
    case .timestamp(let seconds, let increment): bson_append_timestamp(doc, key, -1, seconds, increment)
    case .int64(let v): bson_append_int64(doc, key, -1, v)
    case .decimal128(let s): ma_append_decimal128_string(doc, key, s)
    case .minKey: bson_append_minkey(doc, key, -1)
    case .maxKey: bson_append_maxkey(doc, key, -1)
    }
}

/// A date's milliseconds since the epoch, clamped to the int64 range (dates at its ends come back from a
/// Double one unit past it; never trap on data).
public func clampedMilliseconds(_ date: Date) -> Int64 {
    let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
    if milliseconds.isNaN { return 0 }
    if milliseconds >= 9_223_372_036_854_775_807.0 { return Int64.max }
    if milliseconds <= -9_223_372_036_854_775_808.0 { return Int64.min }
    return Int64(milliseconds)
}
