import Foundation
import MongoKit

/// What one pass has seen at one path, in plain memory that every value updates without touching a reference
/// count. Paths at or under an array element (`tags[]`, `items[].sku`) count values (every element is one), and
/// `documents` counts the documents holding at least one.
struct PathCounters {
    /// Values counted per type slot (`PathCounters.slot(of:)`).
    static let typeSlots = 21
    static let topTrackingLimit = 100
    static let topValueLimit = 20
    /// The block of one path: type counts, the top-value table (hashes, counts) and the HyperLogLog registers.
    static let topHashesOffset = typeSlots * MemoryLayout<Int>.stride
    static let topCountsOffset = topHashesOffset + topTrackingLimit * MemoryLayout<UInt64>.stride
    static let registersOffset = topCountsOffset + topTrackingLimit * MemoryLayout<Int>.stride
    static let blockBytes = registersOffset + HyperLogLog.registerCount

    var values = 0
    var documents = 0
    var lastDocument = -1
    var numberMin = Double.infinity
    var numberMax = -Double.infinity
    var dateMin = Int64.max
    var dateMax = Int64.min
    var stringLengthMin = Int.max
    var stringLengthMax = -1
    var arrayLengthMin = Int.max
    var arrayLengthMax = -1
    /// Counts by value hash while the path has few distinct values (a linear table: few entries).
    var tracking = true
    var topCount = 0
    /// The path of this path's array elements: index + 1, 0 while unknown, -1 when dropped (past `maxPaths`).
    var elementPath: Int32 = 0
    let parent: Int
    /// Where the path's last key lies in the profiler's key arena; length -1 for array elements.
    let keyOffset: Int
    let keyLength: Int
    let block: UnsafeMutableRawPointer

    init(parent: Int, keyOffset: Int, keyLength: Int) {
        self.parent = parent
        self.keyOffset = keyOffset
        self.keyLength = keyLength
        block = .allocate(byteCount: Self.blockBytes, alignment: MemoryLayout<Int>.alignment)
        block.initializeMemory(as: UInt8.self, repeating: 0, count: Self.blockBytes)
    }

    func deallocate() { block.deallocate() }

    var typeCounts: UnsafeMutablePointer<Int> { block.assumingMemoryBound(to: Int.self) }
    var topHashes: UnsafeMutablePointer<UInt64> { (block + Self.topHashesOffset).assumingMemoryBound(to: UInt64.self) }
    var topCounts: UnsafeMutablePointer<Int> { (block + Self.topCountsOffset).assumingMemoryBound(to: Int.self) }
    var registers: UnsafeMutablePointer<UInt8> { (block + Self.registersOffset).assumingMemoryBound(to: UInt8.self) }

    /// The slot of a BSON type byte (0x01...0x13, then minKey and maxKey); nil for a byte that is no type.
    @inline(__always) static func slot(of type: UInt8) -> Int? {
        if type &- 1 < 0x13 { return Int(type) - 1 }
        if type == 0x7F { return 0x13 }
        if type == 0xFF { return 0x14 }
        return nil
    }

    static func type(ofSlot slot: Int) -> UInt8 {
        slot < 0x13 ? UInt8(slot + 1) : (slot == 0x13 ? 0x7F : 0xFF)
    }

    @inline(__always) mutating func seen(in document: Int, slot: Int) {
        typeCounts[slot] += 1
        values += 1
        if lastDocument != document {
            lastDocument = document
            documents += 1
        }
    }

    @inline(__always) func addDistinct(_ hash: UInt64) { HyperLogLog.add(hash: hash, to: registers) }

    /// Counts a value that was seen before; false when it is new to the table (or the table is off).
    @inline(__always) func countKnown(_ hash: UInt64) -> Bool {
        let hashes = topHashes
        var index = 0
        while index < topCount {
            if hashes[index] == hash {
                topCounts[index] += 1
                return true
            }
            index += 1
        }
        return false
    }

    /// Adds the hashes of the values counted exactly to the HyperLogLog registers (HyperLogLog keeps the
    /// largest rank per register, so adding a hash once or once per value gives the same registers).
    func addTrackedToDistinct() {
        for index in 0..<topCount { addDistinct(topHashes[index]) }
    }

    var null: Int { typeCounts[0x09] }

    func profile(name: String, depth: Int, underArray: Bool, topValues kept: [JSONValue], totalDocuments: Int) -> PathProfile {
        if tracking { addTrackedToDistinct() }
        var types: [(String, Int)] = []
        for slot in 0..<Self.typeSlots where typeCounts[slot] > 0 {
            types.append((BSONType(rawValue: Self.type(ofSlot: slot))?.alias ?? "type \(Self.type(ofSlot: slot))", typeCounts[slot]))
        }
        types.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func date(_ ms: Int64) -> String { iso.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) }
        let counts = UnsafeBufferPointer(start: topCounts, count: topCount)
        let topValues: [(JSONValue, Int)]? =
            tracking
            ? Array(
                zip(kept, counts).sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0.text(pretty: false) < $1.0.text(pretty: false)) }
                    .prefix(Self.topValueLimit))
            : nil
        let hasNumbers = numberMin <= numberMax, hasDates = dateMin <= dateMax
        return PathProfile(
            path: name, depth: depth, underArray: underArray, types: types, values: values, present: documents,
            null: null, missing: totalDocuments - documents,
            numberMin: hasNumbers ? numberMin : nil, numberMax: hasNumbers ? numberMax : nil,
            dateMinMilliseconds: hasDates ? dateMin : nil, dateMaxMilliseconds: hasDates ? dateMax : nil,
            dateMin: hasDates ? date(dateMin) : nil, dateMax: hasDates ? date(dateMax) : nil,
            stringLengthMin: stringLengthMax >= 0 ? stringLengthMin : nil, stringLengthMax: stringLengthMax >= 0 ? stringLengthMax : nil,
            arrayLengthMin: arrayLengthMax >= 0 ? arrayLengthMin : nil, arrayLengthMax: arrayLengthMax >= 0 ? arrayLengthMax : nil,
            distinctEstimate: values == 0
                ? 0 : Int(HyperLogLog.estimate(of: UnsafeBufferPointer(start: registers, count: HyperLogLog.registerCount)).rounded()),
            distinctExact: tracking ? topCount : nil, topValues: topValues)
    }
}
