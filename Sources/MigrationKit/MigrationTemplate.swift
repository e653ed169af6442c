import Foundation
import MongoKit
import SpecSupport

/// The text of new migration files: a commented skeleton, or the indexes an audit found missing.
package enum MigrationTemplate {
    /// A skeleton for `migrate new`. It does not parse until an operation is written under `up:`.
    package static func skeleton(title: String) -> String {
        """
        # \(title)
        # Operations: create_indexes, drop_index, hide_index, unhide_index, set_validator.
        # `down:` may be left out when every operation reverses itself (create_indexes -> drop_index,
        # hide_index <-> unhide_index); drop_index and set_validator need a written `down:`.
        description: \(title)
        up:
          # - create_indexes:
          #     collection: recordings
          #     indexes:
          #       - keys: {end_time: 1}
          #       - {keys: {site: 1, start_time: -1}, name: site_start, collation: {locale: en, strength: 2}}
          #       - {keys: {expires_at: 1}, expire_after_seconds: 3600, partial_filter: {deleted: false}}
          # - hide_index: {collection: recordings, name: legacy_1}
          # - set_validator:
          #     collection: recordings
          #     level: moderate          # off, strict, moderate
          #     action: error            # error, warn
          #     json_schema: {required: [uuid], properties: {uuid: {bsonType: string}}}
        # down:
        #   - drop_index: {collection: recordings, name: end_time_1}

        """
    }

    /// A migration that creates `indexes`, one `create_indexes` per collection, in the order given.
    package static func createIndexes(_ indexes: [(collection: String, indexes: [IndexSpec])], description: String) -> String {
        var lines = ["description: \(yamlScalar(description))", "up:"]
        for group in indexes {
            lines += ["  - create_indexes:", "      collection: \(yamlScalar(group.collection))", "      indexes:"]
            lines += group.indexes.map { "        - " + flowMapping(of: $0) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One index as the flow mapping `indexSpec()` reads: `{keys: {end_time: 1}, unique: true, ...}`.
    static func flowMapping(of index: IndexSpec) -> String {
        let keys = index.keys.map { "\(yamlScalar($0.field)): \($0.kind == "1" || $0.kind == "-1" ? $0.kind : yamlScalar($0.kind))" }
        var parts = ["keys: {\(keys.joined(separator: ", "))}"]
        if index.name != IndexSpec.defaultName(for: index.keys) { parts.append("name: \(yamlScalar(index.name))") }
        for option in IndexSpec.options where option.value(in: index) != nil {
            parts.append("\(option.specName): \(option.text(in: index))")
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}
