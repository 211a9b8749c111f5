import Foundation

extension OpenAPIDocument {
    /// The served document: the template with the zones this server accepts as the `TimeZone` enum.
    ///
    /// Built once; the zone list comes from the same database validation uses, so the contract can
    /// never promise a zone the server refuses.
    static let json: String = {
        guard var document = try? JSONSerialization.jsonObject(with: Data(template.utf8)) as? [String: Any],
            var components = document["components"] as? [String: Any],
            var schemas = components["schemas"] as? [String: Any],
            var zone = schemas["TimeZone"] as? [String: Any]
        else { return template }
        zone["enum"] = EventTimeZone.known.sorted()
        schemas["TimeZone"] = zone
        components["schemas"] = schemas
        document["components"] = components
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]) else { return template }
        return String(decoding: data, as: UTF8.self)
    }()
}
