import EventManagerCore
import EventManagerMetrics
import Foundation

/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`.
///
/// The document is the resource `openapi.json`; a test fails when the router and it disagree.
/// The `TimeZone` enum is filled in once, at first use, from the zone database validation uses,
/// so the contract never promises a zone the server refuses.
package enum OpenAPIDocument {
    /// The resource as written, without the zone list.
    package static let template: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            fatalError("the openapi.json resource is missing from the bundle")
        }
        return data
    }()

    /// The served document, built once.
    package static let json: String = {
        guard var document = try? JSONSerialization.jsonObject(with: template) as? [String: Any],
            var components = document["components"] as? [String: Any],
            var schemas = components["schemas"] as? [String: Any],
            var zone = schemas["TimeZone"] as? [String: Any]
        else { return String(decoding: template, as: UTF8.self) }
        zone["enum"] = EventTimeZone.known.sorted()
        schemas["TimeZone"] = zone
        components["schemas"] = schemas
        document["components"] = components
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]) else {
            return String(decoding: template, as: UTF8.self)
        }
        return String(decoding: data, as: UTF8.self)
    }()
}
