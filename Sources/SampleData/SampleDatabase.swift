import Foundation
import MongoKit

/// What the generator put into the sample database, counted as it was generated, so that tests can check
/// an audit's figures against the defects that are really there.
package struct SampleManifest: Codable, Equatable, Sendable {
    package var recordings = 0
    package var metadata = 0
    /// Recordings with no end_time, a null end_time, or an end_time later than generation time.
    package var live = 0
    package var historic = 0
    package var endTimeMissing = 0
    package var endTimeNull = 0
    package var startInFuture = 0
    package var endBeforeStart = 0
    /// Live recordings whose start_time is more than 30 days before generation time.
    package var liveStartedLongAgo = 0
    package var deletedButLive = 0
    package var deleted = 0
    package var channelMinZero = 0
    package var numSamplesMissing = 0
    package var numSamplesNull = 0
    package var numSamplesNotPowerOfTwo = 0
    package var sampleRateMissing = 0
    package var dtypeNull = 0
    /// uuid values held by more than one recording, and the recordings beyond the first for each.
    package var duplicatedUUIDs = 0
    package var duplicateRecordings = 0
    package var orphanMetadata = 0
    /// Indexes of `recordings` that the generator created (the `_id` index aside).
    package var recordingIndexes: [String] = []
    package var generatedAt = Date(timeIntervalSince1970: 0)

    package init() {}
}

/// Builds a `recordings` + `metadata` database that looks like a real seismic/DAS recording catalogue,
/// with defects placed deterministically (by position in every block of 1000 recordings) so that their
/// counts are exact at any size.
package struct SampleDatabase {
    /// The critical indexes of `recordings`; the sample leaves all but `start_time` out unless asked.
    package static let criticalIndexKeys = ["start_time", "end_time", "uuid", "deleted"]

    package var recordingCount: Int
    package var withAllCriticalIndexes: Bool
    package var seed: UInt64
    package var batchSize = 5_000

    package init(recordingCount: Int, withAllCriticalIndexes: Bool = false, seed: UInt64 = 42) {
        self.recordingCount = recordingCount
        self.withAllCriticalIndexes = withAllCriticalIndexes
        self.seed = seed
    }

    /// Drops and recreates `recordings` and `metadata` in `database`. `progress` is told how many
    /// recordings have been written so far.
    @discardableResult
    package func create(in database: MongoDatabase, now: Date = Date(), progress: ((Int) -> Void)? = nil) throws
        -> SampleManifest
    {
        let recordings = database.collection("recordings")
        let metadata = database.collection("metadata")
        try recordings.drop()
        try metadata.drop()
        var manifest = SampleManifest()
        manifest.generatedAt = now
        var random = SplitMix64(seed: seed)
        var recordingBatch: [Document] = []
        var metadataBatch: [Document] = []
        var recentUUIDs: [String] = []
        recordingBatch.reserveCapacity(batchSize)

        for index in 0..<recordingCount {
            let (document, uuid) = makeRecording(index, now: now, random: &random, recentUUIDs: recentUUIDs, into: &manifest)
            recordingBatch.append(document)
            recentUUIDs.append(uuid)
            if recentUUIDs.count > 64 { recentUUIDs.removeFirst(32) }
            if index % 10 == 0 {
                metadataBatch.append(makeMetadata(index, recordingUUID: uuid, random: &random, into: &manifest))
            }
            if recordingBatch.count == batchSize {
                try recordings.insertMany(recordingBatch)
                recordingBatch.removeAll(keepingCapacity: true)
                progress?(index + 1)
            }
            if metadataBatch.count == batchSize {
                try metadata.insertMany(metadataBatch)
                metadataBatch.removeAll(keepingCapacity: true)
            }
        }
        try recordings.insertMany(recordingBatch)
        try metadata.insertMany(metadataBatch)
        progress?(recordingCount)

        var indexes = [IndexSpec(keys: [IndexKey(field: "start_time", direction: 1)])]
        indexes.append(IndexSpec(keys: [IndexKey(field: "site", direction: 1), IndexKey(field: "start_time", direction: -1)]))
        if withAllCriticalIndexes {
            indexes += ["end_time", "uuid", "deleted"].map { IndexSpec(keys: [IndexKey(field: $0, direction: 1)]) }
        }
        try recordings.createIndexes(indexes)
        try metadata.createIndexes([IndexSpec(keys: [IndexKey(field: "recording_uuid", direction: 1)])])
        manifest.recordingIndexes = indexes.map(\.name)
        return manifest
    }

    private static let sites = ["north-array", "harbour-fibre", "quarry-line", "bridge-span", "tunnel-7"]
    private static let samplesPerTrace: [Int32] = [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]
    private static let sampleRates: [Double] = [125, 250, 500, 1000, 2000]

    private func makeRecording(
        _ index: Int, now: Date, random: inout SplitMix64, recentUUIDs: [String], into manifest: inout SampleManifest
    ) -> (Document, String) {
        let slot = index % 1000
        let day = 86_400.0
        manifest.recordings += 1

        var uuid = random.uuidString()
        // Slots 26-27: a uuid that an earlier recording already has.
        if (26..<28).contains(slot), let earlier = recentUUIDs.dropLast(3).last {
            uuid = earlier
            manifest.duplicatedUUIDs += 1
            manifest.duplicateRecordings += 1
        }

        let duration = random.double(in: 600...21_600)
        var start = now.addingTimeInterval(-random.double(in: day...(3 * 365 * day)))
        var end: BSONValue? = .datetime(start.addingTimeInterval(duration))
        var live = false

        switch slot {
        case 0..<10:  // live: still recording, no end_time yet
            start = now.addingTimeInterval(-random.double(in: 60...(6 * 3600)))
            end = nil
            manifest.endTimeMissing += 1
            live = true
        case 10..<20:  // live, written with an explicit null end_time
            start = now.addingTimeInterval(-random.double(in: 60...(6 * 3600)))
            end = .null
            manifest.endTimeNull += 1
            live = true
        case 20..<23:  // a start time in the future (a clock or timezone bug upstream)
            start = now.addingTimeInterval(random.double(in: (30 * day)...(365 * day)))
            end = .datetime(start.addingTimeInterval(duration))
            manifest.startInFuture += 1
            live = true  // its end is later than now
        case 23..<26:  // an end before its start
            end = .datetime(start.addingTimeInterval(-duration))
            manifest.endBeforeStart += 1
        case 75..<80:  // deleted, yet still live
            start = now.addingTimeInterval(-random.double(in: 60...(6 * 3600)))
            end = nil
            manifest.endTimeMissing += 1
            manifest.deletedButLive += 1
            live = true
        case 80..<85:  // live for a year: a recording that never got its end_time
            start = now.addingTimeInterval(-random.double(in: (300 * day)...(400 * day)))
            end = nil
            manifest.endTimeMissing += 1
            manifest.liveStartedLongAgo += 1
            live = true
        default:
            break
        }
        if live { manifest.live += 1 } else { manifest.historic += 1 }

        let deleted = (75..<80).contains(slot) || (100..<150).contains(slot)
        if deleted { manifest.deleted += 1 }

        var document = Document()
        document.append("_id", .objectId(ObjectID()))
        document.append("uuid", .string(uuid))
        document.append("name", .string(String(format: "rec-%07d", index)))
        document.append("site", .string(Self.sites[Int(random.next() % UInt64(Self.sites.count))]))
        document.append("start_time", .datetime(start))
        if let end { document.append("end_time", end) }
        document.append("deleted", .bool(deleted))
        let channelMin: Int32 = (28..<30).contains(slot) ? 0 : 1
        if channelMin == 0 { manifest.channelMinZero += 1 }
        document.append(
            "channels",
            ["min": .int32(channelMin), "max": .int32(Int32(48 + random.next() % 977))])
        if (60..<70).contains(slot) {
            manifest.sampleRateMissing += 1
        } else {
            document.append("sample_rate", .double(Self.sampleRates[Int(random.next() % 5)]))
        }
        switch slot {
        case 30..<45: manifest.numSamplesMissing += 1
        case 45..<60:
            manifest.numSamplesNull += 1
            document.append("num_samples_per_trace", .null)
        case 85..<88:
            manifest.numSamplesNotPowerOfTwo += 1
            document.append("num_samples_per_trace", .int32(1000))
        default:
            document.append("num_samples_per_trace", .int32(Self.samplesPerTrace[Int(random.next() % 10)]))
        }
        if (70..<75).contains(slot) {
            manifest.dtypeNull += 1
            document.append("dtype", .null)
        } else {
            document.append("dtype", .string(random.next() % 4 == 0 ? "int16" : "float32"))
        }
        document.append("dx", .double([1.0, 2.0, 4.0, 5.1][Int(random.next() % 4)]))
        document.append("gauge_length", .double(10.0))
        document.append("created_at", .datetime(start.addingTimeInterval(5)))
        document.append("tags", .array(random.next() % 3 == 0 ? ["calibration"] : ["production", "das"]))
        return (document, uuid)
    }

    private func makeMetadata(
        _ index: Int, recordingUUID: String, random: inout SplitMix64, into manifest: inout SampleManifest
    ) -> Document {
        manifest.metadata += 1
        var target = recordingUUID
        // Every hundredth metadata document points to a recording that does not exist.
        if (index / 10) % 100 == 7 {
            target = random.uuidString()
            manifest.orphanMetadata += 1
        }
        return [
            "_id": .objectId(ObjectID()),
            "recording_uuid": .string(target),
            "operator": .string(["alice", "bora", "chen", "dmitri"][Int(random.next() % 4)]),
            "notes": .string("routine acquisition"),
            "quality": ["snr_db": .double(random.double(in: 5...40)), "dead_channels": .int32(Int32(random.next() % 5))],
        ]
    }
}

/// A small, fast, seedable generator (SplitMix64), so that the same seed gives the same sample database,
/// and the same test data on every machine.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func double(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + Double(next() >> 11) / Double(1 << 53) * (range.upperBound - range.lowerBound)
    }

    mutating func uuidString() -> String {
        let bytes = (0..<16).map { _ in UInt8(truncatingIfNeeded: next()) }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(hex[hex.index(hex.startIndex, offsetBy: range.lowerBound)..<hex.index(hex.startIndex, offsetBy: range.upperBound)])
        }
        return parts.joined(separator: "-")
    }
}
