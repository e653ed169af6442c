import Foundation
import MongoKit

/// The server's verdicts on regular expressions of filters, so that they have its syntax and semantics
/// exactly (PCRE with the `$regex` options i, m, s, x). A verdict not known yet is recorded as pending and
/// reads as unknown; `resolve` asks the server for every pending one in a few round trips (a `$regexMatch`
/// over a list of strings, on the audited collection, under the check's time limit). Verdicts are kept,
/// bounded, for the strings that repeat.
final class RegexVerdicts {
    let collection: MongoCollection
    let maxTimeMS: Int
    let readPreference: ReadPreference
    private var known: [String: [[UInt8]: Bool]] = [:]
    private var knownCount = 0
    private var pending: [String: (regex: RegexPattern, texts: [[UInt8]], seen: Set<[UInt8]>)] = [:]
    private(set) var pendingCount = 0
    private(set) var pendingBytes = 0

    static let knownLimit = 200_000
    /// A round trip carries at most this many strings and about this many bytes (far below the 16 MB
    /// limit of a command).
    static let batchStrings = 50_000
    static let batchBytes = 4 << 20

    init(collection: MongoCollection, maxTimeMS: Int, readPreference: ReadPreference) {
        self.collection = collection
        self.maxTimeMS = maxTimeMS
        self.readPreference = readPreference
    }

    func verdict(_ regex: RegexPattern, _ text: UnsafeRawBufferPointer) -> Truth {
        let id = regex.key
        let bytes = [UInt8](text)
        if let verdict = known[id]?[bytes] { return Truth(verdict) }
        // In place: a copy of the entry would copy its lists at every string.
        if pending[id, default: (regex, [], [])].seen.insert(bytes).inserted {
            pending[id]!.texts.append(bytes)
            pendingCount += 1
            pendingBytes += bytes.count
        }
        return .unknown
    }

    /// Asks the server for every pending verdict.
    func resolve() throws {
        guard pendingCount > 0 else { return }
        if knownCount + pendingCount > Self.knownLimit {
            known.removeAll(keepingCapacity: true)
            knownCount = 0
        }
        let work = pending
        pending.removeAll(keepingCapacity: true)
        pendingCount = 0
        pendingBytes = 0
        for (id, entry) in work {
            var start = 0
            while start < entry.texts.count {
                var end = start
                var bytes = 0
                while end < entry.texts.count, end - start < Self.batchStrings, end == start || bytes + entry.texts[end].count <= Self.batchBytes {
                    bytes += entry.texts[end].count
                    end += 1
                }
                let texts = Array(entry.texts[start..<end])
                let verdicts = try evaluate(entry.regex, texts)
                for (text, verdict) in zip(texts, verdicts) { known[id, default: [:]][text] = verdict }
                knownCount += texts.count
                start = end
            }
        }
    }

    /// One round trip: `$regexMatch` of the expression over each string, computed by the server.
    private func evaluate(_ regex: RegexPattern, _ texts: [[UInt8]]) throws -> [Bool] {
        let strings = try texts.map { bytes -> BSONValue in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw PatternError(description: "a string that is not valid UTF-8 cannot be sent for the server's verdict on /\(regex.pattern)/")
            }
            return .string(text)
        }
        let match: BSONValue = ["input": "$$s", "regex": .string(regex.pattern), "options": .string(regex.options)]
        let pipeline: [Document] = [
            ["$limit": 1],
            ["$project": ["_id": 0, "r": ["$map": ["input": ["$literal": .array(strings)], "as": "s", "in": ["$regexMatch": match]]]]],
        ]
        let result = try collection.aggregate(pipeline, options: AggregateOptions(maxTimeMS: maxTimeMS, readPreference: readPreference)) { cursor in
            try cursor.next()
        }
        guard let array = result?["r"]?.arrayValue, array.count == texts.count else {
            throw PatternError(description: "the server returned no verdicts for /\(regex.pattern)/\(regex.options) (is the collection empty now?)")
        }
        return array.map { $0.boolValue ?? false }
    }
}
