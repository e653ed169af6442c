import CMongoc
import Foundation
import ScanKernel

/// Reads a fixed set of dotted paths from each document of a scan in one walk over its raw bytes, instead
/// of one search per path: the fast path that lets several checks share a pass cheaply. A path reaches
/// every value MongoDB's query matching would see (through arrays of documents, array positions, the
/// elements of an array at its end): `valueCount`/`raw` give them all, the single-value accessors the first. The walk also
/// names every top-level field (as a small integer id), so counting field names costs no second walk.
/// Every length is checked against the document's bounds; a malformed element ends the walk early.
/// Not thread-safe; values read are valid until the next `load`.
public final class FieldReader {
    public let paths: [String]

    // The hot loop reads only these manually allocated tables: Swift arrays of arrays would be retained
    // and released per document. Every one is freed in deinit.
    /// Per path, its names below the top-level one (`channels.min` -> `min`): a range of `components`.
    private let componentStart: UnsafeMutablePointer<Int>
    private let componentCount: UnsafeMutablePointer<Int>
    private let components: UnsafeMutablePointer<UnsafeMutableBufferPointer<UInt8>>
    private let componentTotal: Int
    /// Paths grouped by their top-level name; the top-level names are interned first, so key id `k` below
    /// `wantedKeys` owns `pathOrder[pathsStart[k] ..< pathsStart[k + 1]]`.
    private let pathOrder: UnsafeMutablePointer<Int>
    private let pathsStart: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) private var wantedKeys = 0

    // What `load` found, per path: every value the path reaches, as MongoDB's query matching sees them.
    @usableFromInline let found: UnsafeMutablePointer<GrowableTable<FoundValue>>
    @usableFromInline @exclusivity(unchecked) var bytes: UnsafePointer<UInt8> = UnsafePointer(bitPattern: 1)!
    private let scratch: OpaquePointer
    /// Per path component, whether it can name an array position (digits, no leading zero).
    private let componentIsIndex: UnsafeMutablePointer<Bool>
    /// Per wanted top-level key id, the number of the load that last saw it (a repeated key is read once).
    private let keyStamp: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) private var loads = 0
    /// The key of `valueHash`, random per reader.
    private let hashKey: (UInt64, UInt64)

    // Top-level field names, interned. Documents of a collection mostly repeat their fields in the same
    // order, so each position remembers the id it held last and one comparison usually names a field.
    @exclusivity(unchecked) private var keyNames = GrowableTable<UnsafeMutableBufferPointer<UInt8>>()
    @exclusivity(unchecked) private var keyIDByName: [[UInt8]: Int] = [:]
    @exclusivity(unchecked) private var keyIDAtPosition = GrowableTable<Int>()
    @exclusivity(unchecked) private var currentKeyIDs = GrowableTable<Int>()
    /// Beyond this many distinct top-level names, new ones share `otherKeyID` (keeps memory bounded when
    /// documents use values as keys); its `keyName` is nil.
    public static let keyNameLimit = 10_000
    @exclusivity(unchecked) public private(set) var otherKeyID = -1

    public init(paths: [String]) {
        _ = libmongocInitialized
        self.paths = paths
        let count = max(paths.count, 1)
        let split = paths.map { $0.split(separator: ".").map { Array($0.utf8) } }
        let totalComponents = split.reduce(0) { $0 + $1.count - 1 }
        componentStart = .allocate(capacity: count)
        componentCount = .allocate(capacity: count)
        components = .allocate(capacity: max(totalComponents, 1))
        componentTotal = totalComponents
        var next = 0
        for (index, names) in split.enumerated() {
            componentStart[index] = next
            componentCount[index] = names.count - 1
            for name in names.dropFirst() {
                components[next] = Self.copy(name)
                next += 1
            }
        }
        pathOrder = .allocate(capacity: count)
        pathsStart = .allocate(capacity: count + 1)
        found = .allocate(capacity: count)
        for index in 0..<count { (found + index).initialize(to: GrowableTable()) }
        componentIsIndex = .allocate(capacity: max(totalComponents, 1))
        for index in 0..<totalComponents { componentIsIndex[index] = Self.isArrayIndex(components[index]) }
        hashKey = SipHasher.randomKey()
        // At most one top-level name per path.
        keyStamp = .allocate(capacity: count)
        keyStamp.initialize(repeating: 0, count: count)
        scratch = ma_iter_new()!
        var tops: [[UInt8]] = []
        for names in split where !tops.contains(names[0]) { tops.append(names[0]) }
        var position = 0
        for top in tops {
            let id = intern(top)
            pathsStart[id] = position
            for (index, names) in split.enumerated() where names[0] == top {
                pathOrder[position] = index
                position += 1
            }
        }
        pathsStart[tops.count] = position
        wantedKeys = tops.count
    }

    deinit {
        for index in 0..<componentTotal { components[index].deallocate() }
        for index in 0..<keyNames.count where index != otherKeyID { keyNames[index].deallocate() }
        keyNames.free()
        keyIDAtPosition.free()
        currentKeyIDs.free()
        for pointer in [componentStart, componentCount, pathOrder, pathsStart, keyStamp] { pointer.deallocate() }
        components.deallocate()
        componentIsIndex.deallocate()
        for index in 0..<max(paths.count, 1) { found[index].free() }
        found.deallocate()
        ma_iter_free(scratch)
    }

    private static func copy(_ name: [UInt8]) -> UnsafeMutableBufferPointer<UInt8> {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(name.count, 1))
        _ = buffer.initialize(from: name)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<name.count])
    }

    /// The index of a path given to `init`.
    public func index(of path: String) -> Int? { paths.firstIndex(of: path) }

    /// The number of the current document (counting `load`s): tells work done for it from work done for an earlier one.
    public var loadNumber: Int { loads }

    /// Whether the current document's `keyIDs` are those of the previous document loaded, in the same
    /// order (documents of a collection mostly repeat their fields): counts per key can then be carried over.
    @exclusivity(unchecked) public private(set) var keyIDsRepeat = false

    /// The ids of the current document's top-level fields, in order; valid until the next `load`.
    public var keyIDs: UnsafeBufferPointer<Int> { currentKeyIDs.elements }

    /// The name of a top-level key id from `keyIDs`; nil for `otherKeyID`, the names beyond `keyNameLimit`.
    public func keyName(_ id: Int) -> String? { id == otherKeyID ? nil : String(decoding: keyNames[id], as: UTF8.self) }

    /// Finds every path in `document`.
    public func load(_ document: DocumentView) {
        guard let data = bson_get_data(document.pointer) else { return }
        load(data, length: Int(ma_bson_len(document.pointer)))
    }

    /// Finds every path in the BSON document of `length` bytes at `data` (which may be malformed).
    func load(_ data: UnsafePointer<UInt8>, length: Int) {
        for index in 0..<paths.count { found[index].removeAll() }
        loads &+= 1
        keyIDsRepeat = false
        let previousKeyCount = currentKeyIDs.count
        currentKeyIDs.removeAll()
        bytes = data
        guard let last = lastOffset(start: 0, length: length) else { return }
        var offset = 4
        var position = 0
        var allRemembered = true
        defer { keyIDsRepeat = allRemembered && position == previousKeyCount }
        while offset < last {
            guard let (element, id, remembered) = topLevelElement(at: offset, last: last, position: position) else {
                allRemembered = false
                return
            }
            allRemembered = allRemembered && remembered
            position += 1
            currentKeyIDs.append(id)
            if id < wantedKeys {
                defer { keyStamp[id] = loads }
                for order in pathsStart[id]..<pathsStart[id + 1] {
                    let path = pathOrder[order]
                    // A field repeated at the top level: MongoDB reads the first.
                    if keyStamp[id] != loads {
                        if componentCount[path] == 0 && element.type != 0x04 {
                            record(path, element, parent: 0, parentLength: length, wholeArray: false)
                        } else {
                            descend(path, element, parentLength: length)
                        }
                    }
                }
            }
            offset = element.valueEnd
        }
    }

    /// One element of a document: where its key, value and the element itself lie.
    private struct Element {
        let start: Int
        let type: UInt8
        let keyStart: Int
        let keyEnd: Int  // the key's terminating NUL
        let valueStart: Int
        let valueEnd: Int
    }

    /// The offset of the closing NUL of the document at `start`, or nil when its length is inconsistent.
    private func lastOffset(start: Int, length: Int) -> Int? {
        guard length >= 5, Int(readInt32(start)) == length else { return nil }
        return start + length - 1
    }

    /// The top-level element at `offset` and its key id, or nil when it is malformed or runs past `last`.
    /// Documents of a collection mostly repeat their fields in the same order, so the name the previous
    /// document had at this position is tried first: one comparison finds the key's end and names it.
    /// The Bool is true when the key is that remembered one.
    @inline(__always)
    private func topLevelElement(at offset: Int, last: Int, position: Int) -> (Element, Int, Bool)? {
        let keyStart = offset + 1
        if position < keyIDAtPosition.count {
            let id = keyIDAtPosition[position]
            let name = keyNames[id]
            let keyEnd = keyStart + name.count
            if id != otherKeyID, keyEnd < last, bytes[keyEnd] == 0, bytesEqual(bytes + keyStart, name.baseAddress!, count: name.count) {
                guard let element = element(at: offset, keyEnd: keyEnd, last: last) else { return nil }
                return (element, id, true)
            }
        }
        guard let element = element(at: offset, last: last) else { return nil }
        return (element, identifyKey(element.keyStart, element.keyEnd, position: position), false)
    }

    /// The element at `offset`, or nil when it is malformed or runs past `last`.
    private func element(at offset: Int, last: Int) -> Element? {
        let keyStart = offset + 1
        guard keyStart < last else { return nil }
        // Keys are short: a loop here costs less than a call to memchr.
        var keyEnd = keyStart
        while bytes[keyEnd] != 0 {
            keyEnd += 1
            if keyEnd == last { return nil }
        }
        return element(at: offset, keyEnd: keyEnd, last: last)
    }

    /// The element at `offset` whose key ends at `keyEnd` (before `last`), or nil when its value is
    /// malformed or runs past `last`.
    @inline(__always)
    private func element(at offset: Int, keyEnd: Int, last: Int) -> Element? {
        let keyStart = offset + 1
        let type = bytes[offset]
        guard let size = valueSize(type, at: keyEnd + 1, limit: last), keyEnd + 1 + size <= last else { return nil }
        return Element(start: offset, type: type, keyStart: keyStart, keyEnd: keyEnd, valueStart: keyEnd + 1, valueEnd: keyEnd + 1 + size)
    }

    /// Deeper than this, a path stops (documents nest at most about 100 levels; this keeps the stack bounded
    /// on malformed input).
    private static let maximumDepth = 200

    /// Collects the values that the rest of a path, from component `next`, reaches from `element`, as
    /// MongoDB's query matching does: through embedded documents; through arrays by position (a numeric
    /// component) and into each embedded document they hold (arrays directly inside arrays are not
    /// entered); at the end of the path an array yields itself and then each of its elements, unless the
    /// path reached it by position (`a.0` over `a: [[7, 8]]` yields only `[7, 8]`, as the server matches).
    private func collect(_ path: Int, next: Int, _ element: Element, parent: Int, parentLength: Int, depth: Int, positional: Bool) {
        guard depth < Self.maximumDepth else { return }
        if next == componentCount[path] {
            record(path, element, parent: parent, parentLength: parentLength, wholeArray: element.type == 0x04 && !positional)
            if element.type == 0x04 && !positional {
                forEachChild(of: element) { child, start, length in
                    record(path, child, parent: start, parentLength: length, wholeArray: false)
                }
            }
            return
        }
        let componentIndex = componentStart[path] + next
        let name = components[componentIndex]
        if element.type == 0x03 {
            if let (child, start, length) = field(name, in: element) {
                collect(path, next: next + 1, child, parent: start, parentLength: length, depth: depth + 1, positional: false)
            }
        } else if element.type == 0x04 {
            let isIndex = componentIsIndex[componentIndex]
            forEachChild(of: element) { child, start, length in
                if isIndex, child.keyEnd - child.keyStart == name.count, memcmp(bytes + child.keyStart, name.baseAddress!, name.count) == 0 {
                    collect(path, next: next + 1, child, parent: start, parentLength: length, depth: depth + 1, positional: true)
                }
                if child.type == 0x03, let (grandchild, childStart, childLength) = field(name, in: child) {
                    collect(path, next: next + 1, grandchild, parent: childStart, parentLength: childLength, depth: depth + 1, positional: false)
                }
            }
        }
    }

    /// The common case first, without recursion: through embedded documents only, to a value that is not
    /// an array. Anything else (an array on the way or at the end) goes to `collect`.
    private func descend(_ path: Int, _ element: Element, parentLength length: Int) {
        var current = element
        var parent = 0
        var parentLength = length
        var next = 0
        let components = componentCount[path]
        while next < components && current.type == 0x03 {
            guard let (child, start, childLength) = field(self.components[componentStart[path] + next], in: current) else { return }
            current = child
            parent = start
            parentLength = childLength
            next += 1
        }
        if next == components && current.type != 0x04 {
            record(path, current, parent: parent, parentLength: parentLength, wholeArray: false)
        } else {
            collect(path, next: next, current, parent: parent, parentLength: parentLength, depth: next, positional: false)
        }
    }

    /// The first field named `name` of the embedded document `element`, with that document's bounds.
    private func field(_ name: UnsafeMutableBufferPointer<UInt8>, in element: Element) -> (Element, Int, Int)? {
        let start = element.valueStart
        let length = element.valueEnd - element.valueStart
        guard let last = lastOffset(start: start, length: length) else { return nil }
        var offset = start + 4
        while offset < last {
            guard let child = self.element(at: offset, last: last) else { return nil }
            offset = child.valueEnd
            if child.keyEnd - child.keyStart == name.count, bytesEqual(bytes + child.keyStart, name.baseAddress!, count: name.count) {
                return (child, start, length)
            }
        }
        return nil
    }

    /// Calls `body` with each element of the embedded document or array `element` and its bounds.
    private func forEachChild(of element: Element, _ body: (Element, Int, Int) -> Void) {
        let start = element.valueStart
        let length = element.valueEnd - element.valueStart
        guard let last = lastOffset(start: start, length: length) else { return }
        var offset = start + 4
        while offset < last {
            guard let child = self.element(at: offset, last: last) else { return }
            offset = child.valueEnd
            body(child, start, length)
        }
    }

    private static func isArrayIndex(_ name: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        guard !name.isEmpty, name.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return name.count == 1 || name[0] != 0x30
    }

    private func record(_ path: Int, _ element: Element, parent: Int, parentLength length: Int, wholeArray: Bool) {
        found[path].append(
            FoundValue(
                type: element.type, wholeArray: wholeArray, elementStart: element.start, valueStart: element.valueStart,
                valueEnd: element.valueEnd, parentStart: parent, parentLength: length))
    }

    /// The size of a value of `type` starting at `offset`, or nil when it is malformed or runs past `limit`.
    private func valueSize(_ type: UInt8, at offset: Int, limit: Int) -> Int? {
        BSONElements.valueSize(type, UnsafeRawBufferPointer(start: bytes, count: limit), at: offset, limit: limit)
    }

    /// The id of a top-level key that is not the one the previous document had at `position`; remembered
    /// for that position.
    private func identifyKey(_ keyStart: Int, _ keyEnd: Int, position: Int) -> Int {
        let length = keyEnd - keyStart
        let id = intern(Array(UnsafeBufferPointer(start: bytes + keyStart, count: length)))
        if position < keyIDAtPosition.count { keyIDAtPosition[position] = id } else { keyIDAtPosition.append(id) }
        return id
    }

    private func intern(_ name: [UInt8]) -> Int {
        if let id = keyIDByName[name] { return id }
        if keyNames.count >= Self.keyNameLimit {
            if otherKeyID < 0 {
                otherKeyID = keyNames.count
                keyNames.append(UnsafeMutableBufferPointer(start: nil, count: 0))
            }
            return otherKeyID
        }
        let id = keyNames.count
        keyNames.append(Self.copy(name))
        keyIDByName[name] = id
        return id
    }

    private func readInt32(_ offset: Int) -> Int32 {
        Int32(littleEndian: UnsafeRawPointer(bytes + offset).loadUnaligned(as: Int32.self))
    }

    private func readInt64(_ offset: Int) -> Int64 {
        Int64(littleEndian: UnsafeRawPointer(bytes + offset).loadUnaligned(as: Int64.self))
    }

    // The first value a path reaches (for a whole array: the array itself), as one value.

    private func typeCode(_ index: Int) -> UInt8? { found[index].count == 0 ? nil : found[index][0].type }

    /// The BSON type of the first value at the path, or nil when the path reaches no value.
    public func type(_ index: Int) -> BSONType? { typeCode(index).flatMap(BSONType.init(rawValue:)) }

    /// The first value at the path as a Swift value (allocates for strings and documents).
    public func value(_ index: Int) -> BSONValue? { found[index].count == 0 ? nil : value(index, 0) }

    /// The first value at the path as a Double (int32, int64, double, decimal128); nil for other types.
    public func number(_ index: Int) -> Double? { found[index].count == 0 ? nil : raw(index, 0).number?.approximateDouble }

    /// A datetime as milliseconds since the epoch; nil for other types.
    public func dateMilliseconds(_ index: Int) -> Int64? { found[index].count == 0 ? nil : raw(index, 0).dateMilliseconds }

    public func bool(_ index: Int) -> Bool? { typeCode(index) == 0x08 ? bytes[found[index][0].valueStart] != 0 : nil }

    /// The UTF-8 bytes of a string value (without its terminating NUL), valid until the next `load`.
    public func stringBytes(_ index: Int) -> UnsafeRawBufferPointer? {
        guard typeCode(index) == 0x02 else { return nil }
        return raw(index, 0).text
    }

    public func string(_ index: Int) -> String? { stringBytes(index).map { String(decoding: $0, as: UTF8.self) } }

    /// A hash of the first value, consistent with MongoDB's equality (`BSONCanonical`), keyed per reader.
    /// Nil when the path is missing or null.
    public func valueHash(_ index: Int) -> UInt64? {
        guard let code = typeCode(index), code != 0x0A else { return nil }
        return hash(raw(index, 0), key: hashKey)
    }

    // Every value a path reaches.

    /// How many values the path reaches in the current document (0 when it is missing).
    @inlinable public func valueCount(_ index: Int) -> Int { found[index].count }

    /// The `position`th value the path reaches: where it lies and its type. Valid until the next `load`.
    @inlinable @inline(__always) public func raw(_ index: Int, _ position: Int) -> RawBSONValue {
        let entry = found[index][position]
        return RawBSONValue(type: entry.type, bytes: UnsafeRawBufferPointer(start: bytes + entry.valueStart, count: entry.valueEnd - entry.valueStart))
    }

    /// Whether the `position`th value is an array at the end of the path, whose elements follow it.
    @inlinable public func isWholeArray(_ index: Int, _ position: Int) -> Bool { found[index][position].wholeArray }

    /// The `position`th value as a Swift value.
    public func value(_ index: Int, _ position: Int) -> BSONValue? {
        let entry = found[index][position]
        let keyLength = entry.valueStart - entry.elementStart - 2
        guard
            bson_iter_init_from_data_at_offset(
                scratch, bytes + entry.parentStart, entry.parentLength, UInt32(entry.elementStart - entry.parentStart), UInt32(keyLength))
        else { return nil }
        return readValue(scratch)
    }

    /// A keyed hash consistent with MongoDB's equality.
    public func hash(_ value: RawBSONValue, key: (UInt64, UInt64)) -> UInt64 {
        BSONCanonical.hash(value, key: key)
    }
}

/// One value a path reaches, as offsets into the current document.
@usableFromInline struct FoundValue {
    @usableFromInline let type: UInt8
    @usableFromInline let wholeArray: Bool
    @usableFromInline let elementStart: Int
    @usableFromInline let valueStart: Int
    @usableFromInline let valueEnd: Int
    /// The document or array holding the element.
    @usableFromInline let parentStart: Int
    @usableFromInline let parentLength: Int
}
