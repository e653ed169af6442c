import Foundation
import MongoKit

/// Looks for documents that a unique index would refuse, before its build starts: the same key values
/// (a missing field counts as null, as in the index) within the index's partial filter, sparse rule and collation.
enum DuplicateFinder {
    /// Up to `limit` duplicated key values, each with how many documents share it and some of their `_id`s.
    static func examples(in collection: MongoCollection, for index: IndexSpec, limit: Int = 5) throws -> [String] {
        var pipeline: [BSONValue] = []
        if let filter = index.partialFilterExpression { pipeline.append(["$match": .document(filter)]) }
        if index.sparse {
            pipeline.append(["$match": ["$or": .array(index.keys.map { .document(Document([($0.field, ["$exists": true] as BSONValue)])) })]])
        }
        let group = Document(index.keys.enumerated().map { ("k\($0.offset)", ["$ifNull": [.string("$" + $0.element.field), .null]]) })
        pipeline += [
            ["$group": ["_id": .document(group), "count": ["$sum": 1], "ids": ["$push": "$_id"]]],
            ["$match": ["count": ["$gt": 1]]],
            ["$limit": .int32(Int32(limit))],
            ["$project": ["count": 1, "ids": ["$slice": ["$ids", 3]]]],
        ]
        var command: Document = ["aggregate": .string(collection.name), "pipeline": .array(pipeline), "allowDiskUse": true, "cursor": [:]]
        if let collation = index.collation { command.append("collation", .document(collation)) }
        return try collection.database.firstBatch(of: command).map { group in
            let key = group["_id"]?.documentValue ?? Document()
            let values = Document(index.keys.enumerated().map { ($0.element.field, key["k\($0.offset)"] ?? .null) })
            let ids = (group["ids"]?.arrayValue ?? []).map { Document([("_id", $0)]).relaxedJSON }
            return "\(values.relaxedJSON) on \(group["count"]?.intValue ?? 0) documents, e.g. \(ids.joined(separator: ", "))"
        }
    }
}
