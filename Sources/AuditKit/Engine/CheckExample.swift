import Foundation
import MongoKit
import SpecSupport

/// A small database state and a spec entry for one check, with whether the check must pass on it.
/// Every built-in check carries examples; the test suite runs them all against a real server.
public struct CheckExample: Sendable {
    public let title: String
    /// Commands that build the database state, run in order on an empty database.
    public let setup: [Document]
    /// The check's entry in a spec, as YAML.
    public let entry: String
    /// True when the check must report no finding above info.
    public let passes: Bool

    public init(_ title: String, setup: [Document], entry: String, passes: Bool) {
        self.title = title
        self.setup = setup
        self.entry = entry
        self.passes = passes
    }
}

extension Check {
    public static var examples: [CheckExample] { [] }
}
