import Foundation
import MongoKit
import Yams

/// One string as a YAML scalar that reads back as the same text: plain where YAML reads a plain scalar as
/// that very text, else double-quoted by Yams with YAML's own escapes. JSON quoting is not enough: inside
/// double quotes YAML takes NEL and the line and paragraph separators as line breaks (and folds them) and does
/// not allow C1 controls raw. For the YAML files the tool writes by hand around such scalars.
package func yamlScalar(_ text: String) -> String {
    let plain =
        text.range(of: #"^[A-Za-z_][A-Za-z0-9_.\- ]*$"#, options: .regularExpression) != nil
        && !["true", "false", "yes", "no", "on", "off", "null", "y", "n"].contains(text.lowercased())
        && !text.hasSuffix(" ")
    if plain { return text }
    let node = Node.scalar(Node.Scalar(text, Tag(.str), .doubleQuoted))
    guard let written = try? Yams.serialize(node: node, width: -1, allowUnicode: true) else {
        // Yams refuses nothing a Swift string can hold; this keeps the writer total all the same.
        return JSONValue.string(text).text(pretty: false)
    }
    return written.trimmingCharacters(in: .newlines)
}
