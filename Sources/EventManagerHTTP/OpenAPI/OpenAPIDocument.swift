import EventManagerCore
import Foundation

/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`.
///
/// The document is the resource `openapi.json`; a test fails when the router and it disagree.
/// The `TimeZone` enum is filled in once, at first use, from the zone database validation uses,
/// so the contract never promises a zone the server refuses.
public enum OpenAPIDocument {
    /// The served document, or why it could not be read.
    static let loaded: Result<String, OpenAPIDocumentMissing> = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let template = try? Data(contentsOf: url) else {
            return .failure(OpenAPIDocumentMissing())
        }
        guard var document = try? JSONSerialization.jsonObject(with: template) as? [String: Any],
            var components = document["components"] as? [String: Any],
            var schemas = components["schemas"] as? [String: Any],
            var zone = schemas["TimeZone"] as? [String: Any]
        else { return .success(String(decoding: template, as: UTF8.self)) }
        zone["enum"] = EventTimeZone.known.sorted()
        schemas["TimeZone"] = zone
        components["schemas"] = schemas
        document["components"] = components
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]) else {
            return .success(String(decoding: template, as: UTF8.self))
        }
        return .success(String(decoding: data, as: UTF8.self))
    }()

    /// The document as served.
    /// - Throws: when the resource bundle is not beside the executable.
    public static func json() throws -> String { try loaded.get() }
}

/// The executable was installed without its resources.
public struct OpenAPIDocumentMissing: Error, CustomStringConvertible {
    public var description: String {
        "openapi.json is missing: install the folder event-manager_EventManagerHTTP.resources beside the event-manager executable"
    }
}
