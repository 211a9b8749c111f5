import Foundation

/// A client's request to register (or change) an endpoint, checked.
///
/// Every failing field is reported at once, as with events.
public struct WebhookRegistration: Sendable, Equatable {
    public var url: String?
    public var eventTypes: [WebhookEventType]?
    /// `active: true` turns a disabled endpoint back on; `false` pauses it.
    public var active: Bool?

    public init(url: String? = nil, eventTypes: [WebhookEventType]? = nil, active: Bool? = nil) {
        self.url = url
        self.eventTypes = eventTypes
        self.active = active
    }

    public static let maxURLLength = 2048
    static let fields: Set<String> = ["url", "events", "active"]

    /// Reads `{"url", "events", "active"?}`; `partial` (PATCH) makes every field optional.
    public static func validate(_ body: JSONValue, partial: Bool, policy: WebhookAddressPolicy) -> Result<Self, AppError> {
        guard case .object(let object) = body else {
            return .failure(
                .validation([FieldError(field: "body", code: "invalid_type", message: "expected a JSON object, got \(body.typeName)")]))
        }
        var errors: [FieldError] = []
        for key in object.keys.sorted() where !fields.contains(key) {
            errors.append(
                FieldError(field: key, code: "unknown_field", message: "unknown field '\(key.prefix(64))'; allowed: active, events, url"))
        }
        var registration = WebhookRegistration()
        switch object["url"] {
        case nil where partial:
            break
        case nil, .null?:
            errors.append(FieldError(field: "url", code: "required", message: "url is required"))
        case .string(let text)?:
            switch checkURL(text, policy: policy) {
            case .success(let url): registration.url = url
            case .failure(let error): errors.append(error)
            }
        case let other?:
            errors.append(
                FieldError(field: "url", code: "invalid_type", message: "expected a string (an http or https URL), got \(other.typeName)"))
        }
        let valid = WebhookEventType.subscribable.map(\.rawValue).joined(separator: ", ")
        switch object["events"] {
        case nil where partial:
            break
        case nil, .null?:
            errors.append(FieldError(field: "events", code: "required", message: "events is required: a list of \(valid)"))
        case .array(let items)?:
            var types = Set<WebhookEventType>()
            for (index, item) in items.enumerated() {
                guard case .string(let name) = item, let type = WebhookEventType(rawValue: name), type != .ping else {
                    errors.append(
                        FieldError(field: "events[\(index)]", code: "unknown_event_type", message: "expected one of \(valid)"))
                    continue
                }
                types.insert(type)
            }
            if items.isEmpty {
                errors.append(FieldError(field: "events", code: "empty", message: "name at least one of \(valid)"))
            }
            registration.eventTypes = types.sorted()
        case let other?:
            errors.append(
                FieldError(field: "events", code: "invalid_type", message: "expected a list of event types, got \(other.typeName)"))
        }
        switch object["active"] {
        case nil: break
        case .bool(let active)?: registration.active = active
        case let other?:
            errors.append(FieldError(field: "active", code: "invalid_type", message: "expected true or false, got \(other.typeName)"))
        }
        return errors.isEmpty ? .success(registration) : .failure(.validation(errors))
    }

    /// An absolute http or https URL without credentials or fragment, whose host is not a
    /// loopback name or a literal address the policy refuses (names are checked again, resolved,
    /// at each delivery).
    static func checkURL(_ text: String, policy: WebhookAddressPolicy) -> Result<String, FieldError> {
        func refuse(_ code: String, _ message: String) -> Result<String, FieldError> {
            .failure(FieldError(field: "url", code: code, message: message))
        }
        guard text.utf8.count <= maxURLLength else { return refuse("too_long", "url is longer than \(maxURLLength) bytes") }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return refuse("invalid_url", "'\(text.prefix(64))' is not an absolute URL such as https://example.com/hooks") }
        guard scheme == "http" || scheme == "https" else { return refuse("invalid_url", "only http and https URLs can receive webhooks") }
        guard components.user == nil && components.password == nil else {
            return refuse("invalid_url", "credentials in the URL are not accepted: verify the signature instead")
        }
        guard components.fragment == nil else { return refuse("invalid_url", "a URL with a #fragment cannot be called") }
        if let port = components.port, !(1...65535).contains(port) { return refuse("invalid_url", "port \(port) is out of range") }
        if !policy.allowPrivate {
            let refused =
                WebhookAddressPolicy.isLocalName(host) || WebhookAddressPolicy.literal(host).map { !policy.permits($0) } == true
            if refused {
                return refuse(
                    "address_not_allowed",
                    "\(host.prefix(64)) is a loopback, private or link-local address; webhooks go to public addresses only")
            }
        }
        return .success(text)
    }
}
