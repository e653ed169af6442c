import ArgumentParser
import AuditKit

struct ListChecks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checks", abstract: "List the built-in checks with their options and default severity.",
        discussion: "`--format markdown` prints the table the README carries; a test keeps the two equal.")

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case text, markdown
    }

    @Option(name: .long, help: "text (default) or markdown.")
    var format: Format = .text

    func run() throws {
        switch format {
        case .text: print(Self.text(), terminator: "")
        case .markdown: print(Self.markdownTable(), terminator: "")
        }
    }

    static func text() -> String {
        var out = ""
        for type in CheckRegistry.builtIn.checks {
            let d = type.description
            out += "\(d.identifier)  (\(d.name), default severity \(d.defaultSeverity.rawValue))\n"
            out += "  \(d.summary)\n"
            out += "  needs: \(d.needs)\n"
            for option in CheckDescription.commonOptions + d.options {
                out += "    \(option.name)\(option.required ? " (required)" : ""): \(option.type). \(option.summary)\n"
            }
            out += "\n"
        }
        return out
    }

    static func markdownTable() -> String {
        var out = "| check | default severity | options (* required) | what it looks at | needs |\n| --- | --- | --- | --- | --- |\n"
        for type in CheckRegistry.builtIn.checks {
            let d = type.description
            let options = d.options.map { "`\($0.name)`\($0.required ? "*" : "")" }.joined(separator: ", ")
            out += "| `\(d.identifier)` | \(d.defaultSeverity.rawValue) | \(options) | \(d.summary) | \(d.needs) |\n"
        }
        return out
    }
}
