import Foundation

/// The BSON specification's test corpus (`Tests/Fixtures/bson-corpus/`, see its README): each
/// file's valid documents (canonical and degenerate encodings) and its decode errors, as bytes.
public struct BSONCorpusFile {
    public let name: String
    public let testKey: String
    public let valid: [[UInt8]]
    public let degenerate: [[UInt8]]
    public let decodeErrors: [[UInt8]]
}

public enum BSONCorpus {
    public static var directory: URL {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/bson-corpus")
    }

    public static func load() throws -> [BSONCorpusFile] {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        guard !files.isEmpty else { throw TestServerError(description: "no BSON corpus at \(directory.path)") }
        return try files.map { url in
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
            let valid = object["valid"] as? [[String: Any]] ?? []
            let errors = object["decodeErrors"] as? [[String: Any]] ?? []
            return BSONCorpusFile(
                name: url.lastPathComponent, testKey: object["test_key"] as? String ?? "a",
                valid: valid.compactMap { ($0["canonical_bson"] as? String).flatMap(bytes(hex:)) },
                degenerate: valid.compactMap { ($0["degenerate_bson"] as? String).flatMap(bytes(hex:)) },
                decodeErrors: errors.compactMap { ($0["bson"] as? String).flatMap(bytes(hex:)) })
        }
    }

    static func bytes(hex: String) -> [UInt8]? {
        let characters = Array(hex.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let byte = UInt8(String(decoding: characters[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
            result.append(byte)
            index += 2
        }
        return result
    }
}
