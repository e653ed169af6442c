import Foundation
import MongoKit

/// What one pass has seen at one path. Paths at or under an array element (`tags[]`, `items[].sku`)
/// count values (every element is one), and `documents` counts the documents holding at least one.
final class PathStatistics {
    static let topValueLimit = 20
    static let topTrackingLimit = 100

    let name: String
    let depth: Int
    let underArray: Bool
    let index: Int
    let parent: Int
    /// The last key of the path; nil for array elements.
    let key: [UInt8]?
    /// Values by BSON type byte.
    /// Values by BSON type byte, and the HyperLogLog registers: raw memory owned by the object, so that the
    /// per-value updates touch no reference count.
    let typeCounts: UnsafeMutablePointer<Int>
    let registers: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) var values = 0
    @exclusivity(unchecked) var documents = 0
    @exclusivity(unchecked) var lastDocument = -1
    @exclusivity(unchecked) var numberMin = Double.infinity
    @exclusivity(unchecked) var numberMax = -Double.infinity
    @exclusivity(unchecked) var dateMin = Int64.max
    @exclusivity(unchecked) var dateMax = Int64.min
    @exclusivity(unchecked) var stringLengthMin = Int.max
    @exclusivity(unchecked) var stringLengthMax = -1
    @exclusivity(unchecked) var arrayLengthMin = Int.max
    @exclusivity(unchecked) var arrayLengthMax = -1
    /// Counts by value hash while the path has few distinct values (a linear table: few entries, no hashing).
    @exclusivity(unchecked) var tracking = true
    @exclusivity(unchecked) var topHashes: [UInt64] = []
    @exclusivity(unchecked) var topCounts: [Int] = []
    @exclusivity(unchecked) var topJSON: [JSONValue] = []

    init(name: String, depth: Int, underArray: Bool, index: Int, parent: Int, key: [UInt8]?) {
        self.name = name
        self.depth = depth
        self.underArray = underArray
        self.index = index
        self.parent = parent
        self.key = key
        typeCounts = .allocate(capacity: 256)
        typeCounts.initialize(repeating: 0, count: 256)
        registers = .allocate(capacity: HyperLogLog.registerCount)
        registers.initialize(repeating: 0, count: HyperLogLog.registerCount)
    }

    deinit {
        typeCounts.deallocate()
        registers.deallocate()
    }

    @inline(__always) func addDistinct(_ hash: UInt64) { HyperLogLog.add(hash: hash, to: registers) }

    @inline(__always) func matches(parent: Int, key: UnsafeRawBufferPointer?) -> Bool {
        guard self.parent == parent else { return false }
        switch (self.key, key) {
        case (nil, nil): return true
        case (let mine?, let theirs?): return mine.elementsEqual(theirs)
        default: return false
        }
    }

    @inline(__always) func seen(in document: Int, type: UInt8) {
        typeCounts[Int(type)] += 1
        values += 1
        if lastDocument != document {
            lastDocument = document
            documents += 1
        }
    }

    @inline(__always) func track(hash: UInt64, _ value: @autoclosure () -> JSONValue) {
        addDistinct(hash)
        guard tracking else { return }
        if let index = topHashes.firstIndex(of: hash) {
            topCounts[index] += 1
        } else if topHashes.count >= Self.topTrackingLimit {
            stopTracking()
        } else {
            topHashes.append(hash)
            topCounts.append(1)
            topJSON.append(value())
        }
    }

    func stopTracking() {
        guard tracking else { return }
        tracking = false
        topHashes = []
        topCounts = []
        topJSON = []
    }

    func profile(totalDocuments: Int) -> PathProfile {
        var types: [(String, Int)] = []
        for code in 0..<256 where typeCounts[code] > 0 {
            types.append((BSONType(rawValue: UInt8(code))?.alias ?? "type \(code)", typeCounts[code]))
        }
        types.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func date(_ ms: Int64) -> String { iso.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) }
        let topValues: [(JSONValue, Int)]? = tracking
            ? Array(zip(topJSON, topCounts).sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0.text(pretty: false) < $1.0.text(pretty: false)) }
                .prefix(Self.topValueLimit))
            : nil
        return PathProfile(
            path: name, depth: depth, underArray: underArray, types: types, values: values, present: documents,
            null: typeCounts[0x0A], missing: totalDocuments - documents,
            numberMin: numberMin <= numberMax ? numberMin : nil, numberMax: numberMin <= numberMax ? numberMax : nil,
            dateMinMilliseconds: dateMin <= dateMax ? dateMin : nil, dateMaxMilliseconds: dateMin <= dateMax ? dateMax : nil,
            dateMin: dateMin <= dateMax ? date(dateMin) : nil, dateMax: dateMin <= dateMax ? date(dateMax) : nil,
            stringLengthMin: stringLengthMax >= 0 ? stringLengthMin : nil, stringLengthMax: stringLengthMax >= 0 ? stringLengthMax : nil,
            arrayLengthMin: arrayLengthMax >= 0 ? arrayLengthMin : nil, arrayLengthMax: arrayLengthMax >= 0 ? arrayLengthMax : nil,
            distinctEstimate: values == 0 ? 0 : Int(HyperLogLog.estimate(of: UnsafeBufferPointer(start: registers, count: HyperLogLog.registerCount)).rounded()),
            distinctExact: tracking ? topHashes.count : nil, topValues: topValues)
    }
}
