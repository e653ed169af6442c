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
    @exclusivity(unchecked) var typeCounts = [Int](repeating: 0, count: 256)
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
    @exclusivity(unchecked) var distinct = HyperLogLog()
    /// Counts by value hash while the path has few distinct values; nil once it has had too many.
    @exclusivity(unchecked) var top: [UInt64: TopValue]? = [:]

    struct TopValue {
        var value: JSONValue
        var count: Int
    }

    init(name: String, depth: Int, underArray: Bool, index: Int, parent: Int, key: [UInt8]?) {
        self.name = name
        self.depth = depth
        self.underArray = underArray
        self.index = index
        self.parent = parent
        self.key = key
    }

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
        distinct.add(hash: hash)
        guard top != nil else { return }
        if top![hash] != nil {
            top![hash]!.count += 1
        } else if top!.count >= Self.topTrackingLimit {
            top = nil
        } else {
            top![hash] = TopValue(value: value(), count: 1)
        }
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
        let topValues = top.map { table in
            table.values.sorted { $0.count > $1.count || ($0.count == $1.count && $0.value.text(pretty: false) < $1.value.text(pretty: false)) }
                .prefix(Self.topValueLimit).map { ($0.value, $0.count) }
        }
        return PathProfile(
            path: name, depth: depth, underArray: underArray, types: types, values: values, present: documents,
            null: typeCounts[0x0A], missing: totalDocuments - documents,
            numberMin: numberMin <= numberMax ? numberMin : nil, numberMax: numberMin <= numberMax ? numberMax : nil,
            dateMinMilliseconds: dateMin <= dateMax ? dateMin : nil, dateMaxMilliseconds: dateMin <= dateMax ? dateMax : nil,
            dateMin: dateMin <= dateMax ? date(dateMin) : nil, dateMax: dateMin <= dateMax ? date(dateMax) : nil,
            stringLengthMin: stringLengthMax >= 0 ? stringLengthMin : nil, stringLengthMax: stringLengthMax >= 0 ? stringLengthMax : nil,
            arrayLengthMin: arrayLengthMax >= 0 ? arrayLengthMin : nil, arrayLengthMax: arrayLengthMax >= 0 ? arrayLengthMax : nil,
            distinctEstimate: values == 0 ? 0 : Int(distinct.estimate.rounded()),
            distinctExact: top.map { $0.count }, topValues: topValues.map(Array.init))
    }
}
