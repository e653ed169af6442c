import Foundation

/// Server commands beyond CRUD that the migration runner needs: write commands whose write errors must
/// throw, index builds still in progress, `$currentOp` and the deployment's `hello`.
extension MongoDatabase {
    /// Runs a write command (insert, update, delete, findAndModify) and throws its first write error or its
    /// write-concern error as `MongoError.command`, of kind `.writeError` or `.writeConcernError`: the server
    /// reports those with `ok: 1`, which `runCommand` alone accepts.
    @discardableResult
    package func runWriteCommand(_ command: Document) throws -> Document {
        let reply = try runCommand(command)
        if let failure = ServerError.firstWriteFailure(in: reply) { throw MongoError.command(failure) }
        return reply
    }

    /// Runs a cursor command whose result fits its first batch (index lists, small aggregations); a read, so
    /// bounded by the client's default time limit unless the command has its own.
    package func firstBatch(of command: Document) throws -> [Document] {
        let reply = try runCommand(command, maxTimeMS: client.defaultMaxTimeMS)
        return reply["cursor"]?.documentValue?["firstBatch"]?.arrayValue?.compactMap(\.documentValue) ?? []
    }
}

extension MongoCollection {
    /// The collection's indexes split into ready ones and ones still being built (MongoDB 4.4+ lists
    /// those with `includeBuildUUIDs`). Both empty when the collection does not exist.
    package func indexesIncludingBuilds() throws -> (ready: [IndexSpec], building: [IndexSpec]) {
        let entries: [Document]
        do {
            entries = try database.firstBatch(of: ["listIndexes": .string(name), "includeBuildUUIDs": true, "cursor": [:]])
        } catch MongoError.command(let error) where error.code == 26 {  // NamespaceNotFound
            return ([], [])
        }
        var ready: [IndexSpec] = []
        var building: [IndexSpec] = []
        for entry in entries {
            if entry["buildUUID"] != nil, let spec = entry["spec"]?.documentValue {
                building.append(IndexSpec(document: spec))
            } else {
                ready.append(IndexSpec(document: entry))
            }
        }
        return (ready, building)
    }
}

extension MongoClient {
    /// The operations running on the server that match `filter` (`$currentOp` over all users).
    package func currentOperations(matching filter: Document) throws -> [Document] {
        try database("admin").firstBatch(of: [
            "aggregate": 1,
            "pipeline": [["$currentOp": ["allUsers": true, "idleConnections": false]], ["$match": .document(filter)]],
            "cursor": [:],
        ])
    }

    /// The `hello` reply of the server the driver selects for writes.
    package func hello() throws -> Document {
        try database("admin").runCommand(["hello": 1])
    }
}
