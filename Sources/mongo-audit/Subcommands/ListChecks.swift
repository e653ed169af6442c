import ArgumentParser
import AuditKit

struct ListChecks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checks", abstract: "List the built-in checks with their options and default severity.")

    func run() throws {
        for type in builtInChecks {
            let d = type.description
            print("\(d.identifier)  (\(d.name), default severity \(d.defaultSeverity.rawValue))")
            print("  \(d.summary)")
            print("  needs: \(d.needs)")
            for option in CheckDescription.commonOptions + d.options {
                print("    \(option.name)\(option.required ? " (required)" : ""): \(option.type). \(option.summary)")
            }
            print("")
        }
    }
}
