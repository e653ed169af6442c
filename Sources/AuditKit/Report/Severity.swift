import Foundation

/// How bad a finding is. Ordered: `critical` is the highest.
public enum Severity: String, Codable, CaseIterable, Comparable, Sendable {
    case info, low, medium, high, critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Highest first, the order reports list them in.
    public static var descending: [Severity] { allCases.reversed() }
}
