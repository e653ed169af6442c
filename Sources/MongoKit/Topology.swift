import CMongoc
import Foundation

/// A server of the deployment as the driver currently sees it.
package struct ServerDescription: Equatable, Sendable {
    package let id: UInt32
    /// "host:port"
    package let address: String
    /// The driver's name for its type: Standalone, RSPrimary, RSSecondary, RSArbiter, Mongos, Unknown, ...
    package let type: String

    /// Whether the server holds data that queries can read (not an arbiter, not unknown).
    package var holdsData: Bool { ["Standalone", "RSPrimary", "RSSecondary", "Mongos", "LoadBalancer"].contains(type) }
}

extension MongoClient {
    /// The servers of the deployment known to the driver (after a first operation such as `ping`).
    package func servers() -> [ServerDescription] {
        withClient { mongoc in
            var count = 0
            guard let descriptions = mongoc_client_get_server_descriptions(mongoc, &count) else { return [] }
            defer { mongoc_server_descriptions_destroy_all(descriptions, count) }
            return (0..<count).compactMap { index in
                guard let description = descriptions[index] else { return nil }
                return ServerDescription(
                    id: mongoc_server_description_id(description),
                    address: String(cString: ma_server_address(description)),
                    type: String(cString: mongoc_server_description_type(description)))
            }
        }
    }

    /// Runs a command on one given server (for per-member statistics such as `$indexStats`).
    package func runCommand(_ command: Document, database: String, onServer serverID: UInt32) throws -> Document {
        try withClient { mongoc in
            try ReadPreference.primaryPreferred.withPointer { prefs in
                try call { reply, error in
                    mongoc_client_command_simple_with_server_id(mongoc, database, command.pointer, prefs, serverID, reply, error)
                }
            }
        }
    }
}
