import CMongoc
import Foundation

/// Everything that can go wrong talking to MongoDB, in cases a user can act on. Messages never hold the
/// password of the connection string: they are redacted where the error is made.
public enum MongoError: Error, Equatable, CustomStringConvertible {
    /// The connection string could not be parsed.
    case invalidURI(String)
    /// No server could be selected in time: nothing listens, a wrong host, or no suitable replica set member.
    case serverSelection(String)
    /// The server rejected the credentials.
    case authentication(String)
    /// The operation ran out of time: `maxTimeMS` expired on the server, or a socket timed out.
    case timeout(String)
    /// The server ran the command and answered with an error.
    case command(code: Int, codeName: String, message: String)
    /// The connection broke while talking to the server.
    case network(String)
    /// A document could not be built or parsed.
    case invalidDocument(String)
    /// Anything libmongoc reports that fits none of the cases above.
    case other(domain: Int, code: Int, message: String)

    public var description: String {
        switch self {
        case .invalidURI(let m): return "invalid connection string: \(m)"
        case .serverSelection(let m): return "server unreachable: \(m)"
        case .authentication(let m): return "authentication failed: \(m)"
        case .timeout(let m): return "timed out: \(m)"
        case .command(let code, let codeName, let m): return "command failed: \(m) (code \(code) \(codeName))"
        case .network(let m): return "network error: \(m)"
        case .invalidDocument(let m): return "invalid document: \(m)"
        case .other(let domain, let code, let m): return "\(m) (libmongoc domain \(domain), code \(code))"
        }
    }

    /// The server's error code name, for command errors.
    public var codeName: String? {
        if case .command(_, let name, _) = self { return name }
        return nil
    }

    /// Maps a libmongoc error (error API version 2) and an optional server reply to a case.
    static func from(_ error: UnsafePointer<bson_error_t>, reply: Document?, redactor: Redactor) -> MongoError {
        let domain = ma_error_domain(error)
        let code = ma_error_code(error)
        let message = redactor.redact(String(cString: ma_error_message(error)))
        switch (domain, code) {
        case (UInt32(MONGOC_ERROR_SERVER.rawValue), 50),  // MaxTimeMSExpired
            (UInt32(MONGOC_ERROR_SERVER.rawValue), 262):  // ExceededTimeLimit
            return .timeout(message)
        case (UInt32(MONGOC_ERROR_SERVER.rawValue), 18):  // AuthenticationFailed
            return .authentication(message)
        case (UInt32(MONGOC_ERROR_SERVER.rawValue), _), (UInt32(MONGOC_ERROR_WRITE_CONCERN.rawValue), _):
            let codeName = reply?["codeName"]?.stringValue ?? ""
            return .command(code: Int(code), codeName: codeName, message: message)
        case (UInt32(MONGOC_ERROR_CLIENT.rawValue), UInt32(MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue)),
            (UInt32(MONGOC_ERROR_SASL.rawValue), _), (UInt32(MONGOC_ERROR_SCRAM.rawValue), _):
            return .authentication(message)
        case (UInt32(MONGOC_ERROR_SERVER_SELECTION.rawValue), _):
            // libmongoc reports a failed handshake as a selection failure; keep the cause a user acts on.
            if message.localizedCaseInsensitiveContains("authentication failed") { return .authentication(message) }
            return .serverSelection(message)
        case (UInt32(MONGOC_ERROR_STREAM.rawValue), _):
            if message.localizedCaseInsensitiveContains("timed out") || message.localizedCaseInsensitiveContains("timeout") {
                return .timeout(message)
            }
            return .network(message)
        case (UInt32(MONGOC_ERROR_COMMAND.rawValue), UInt32(MONGOC_ERROR_COMMAND_INVALID_ARG.rawValue)):
            if message.localizedCaseInsensitiveContains("uri") { return .invalidURI(message) }
            return .other(domain: Int(domain), code: Int(code), message: message)
        case (UInt32(MONGOC_ERROR_BSON.rawValue), _):
            return .invalidDocument(message)
        default:
            return .other(domain: Int(domain), code: Int(code), message: message)
        }
    }
}

/// Removes the password of a connection string (as written and percent-decoded) from any text.
public struct Redactor: Sendable {
    let secrets: [String]

    public init(uri: String) {
        var secrets: [String] = []
        if let password = Redactor.password(in: uri), !password.isEmpty {
            secrets.append(password)
            if let decoded = password.removingPercentEncoding, decoded != password { secrets.append(decoded) }
        }
        self.secrets = secrets
    }

    public func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "*****") }
    }

    /// The connection string with its password replaced, safe to print.
    public static func redactedURI(_ uri: String) -> String { Redactor(uri: uri).redact(uri) }

    /// The raw password between "user:" and the last "@" of the authority, found without libmongoc so that
    /// it can be hidden even in a string libmongoc refuses to parse.
    static func password(in uri: String) -> String? {
        guard let schemeEnd = uri.range(of: "://") else { return nil }
        let rest = uri[schemeEnd.upperBound...]
        // The user info ends at the last "@" before the query, so an unencoded "@" in a password still counts.
        let beforeQuery = rest[..<(rest.firstIndex(of: "?") ?? rest.endIndex)]
        guard let at = beforeQuery.lastIndex(of: "@") else { return nil }
        let userInfo = beforeQuery[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return nil }
        return String(userInfo[userInfo.index(after: colon)...])
    }
}
