/// Rules for turning a client's JSON into an `EventDraft`.
///
/// Every failing field is collected so a client fixes its request in one round trip.
extension EventDraft {
    public static let writableFields: Set<String> = ["title", "location", "date", "timezone", "popularity"]
    public static let readOnlyFields: Set<String> = ["id", "created_at", "updated_at"]
    public static let maxTextLength = 200
    /// Largest popularity accepted: the largest integer every JSON client can represent exactly.
    public static let maxPopularity: Int64 = 9_007_199_254_740_991

    /// Validates a full event document (create or replacement).
    ///
    /// - Parameters:
    ///   - body: the parsed request body.
    ///   - existing: the stored event for a replacement; read-only fields must match it.
    ///   - prefix: prepended to field names, e.g. `[3].` for an element of a bulk request.
    public static func validate(_ body: JSONValue, existing: Event? = nil, prefix: String = "") -> Result<EventDraft, AppError> {
        guard case .object(let object) = body else {
            return .failure(
                .validation([
                    FieldError(
                        field: prefix.isEmpty ? "body" : String(prefix.dropLast()), code: "invalid_type",
                        message: "expected a JSON object, got \(body.typeName)")
                ])
            )
        }
        var errors: [FieldError] = []
        for key in object.keys.sorted() where !writableFields.contains(key) && !readOnlyFields.contains(key) {
            errors.append(
                FieldError(
                    field: prefix + key, code: "unknown_field",
                    message: "unknown field '\(key)'; allowed: date, location, popularity, timezone, title"))
        }
        errors += checkReadOnly(object, existing: existing, prefix: prefix)

        let title = text(object["title"], field: prefix + "title", errors: &errors)
        let location = text(object["location"], field: prefix + "location", errors: &errors)

        var timeZone = EventTimeZone.utc
        switch object["timezone"] {
        case nil, .null?:
            break
        case .string(let name)?:
            if let zone = EventTimeZone(identifier: name) {
                timeZone = zone
            } else {
                errors.append(
                    FieldError(
                        field: prefix + "timezone", code: "unknown_timezone",
                        message: "'\(name.prefix(64))' is not a known IANA time zone name such as 'Europe/Paris' or 'UTC'"))
            }
        case let other?:
            errors.append(
                FieldError(
                    field: prefix + "timezone", code: "invalid_type",
                    message: "expected a string (IANA time zone name), got \(other.typeName)"))
        }

        var date: DateInput?
        switch object["date"] {
        case nil, .null?:
            errors.append(FieldError(field: prefix + "date", code: "required", message: "date is required"))
        case .string(let raw)?:
            date = DateInput.parse(raw)
            if date == nil {
                errors.append(
                    FieldError(
                        field: prefix + "date", code: "invalid_date",
                        message:
                            "'\(raw.prefix(64))' is not a date: expected YYYY-MM-DD or an RFC 3339 date-time with offset, e.g. 2023-10-27T18:30:00Z, years 0001-9999 (no \"+\" offset on 0001-01-01, no \"-\" offset on 9999-12-31)"
                    ))
            }
        case let other?:
            errors.append(
                FieldError(
                    field: prefix + "date", code: "invalid_type",
                    message: "expected a string (YYYY-MM-DD or RFC 3339), got \(other.typeName)"))
        }

        var popularity: Int64 = 0
        let integer: Int64?
        switch object["popularity"] {
        case nil, .null?: integer = 0
        case .integer(let value)?: integer = value
        case .number(let value)? where value.rounded() == value && abs(value) <= Double(maxPopularity): integer = Int64(value)
        case let other?:
            integer = nil
            errors.append(
                FieldError(field: prefix + "popularity", code: "invalid_type", message: "expected an integer, got \(other.typeName)"))
        }
        if let integer {
            if (0...maxPopularity).contains(integer) {
                popularity = integer
            } else {
                errors.append(
                    FieldError(
                        field: prefix + "popularity", code: "out_of_range",
                        message: "must be an integer from 0 to \(maxPopularity), got \(integer)"))
            }
        }

        guard errors.isEmpty, let title, let location, let date else { return .failure(.validation(errors)) }
        return .success(EventDraft(title: title, location: location, date: date, timeZone: timeZone, popularity: popularity))
    }

    /// Applies a JSON Merge Patch (RFC 7396) to `existing` and validates the result.
    public static func validatePatch(_ patch: JSONValue, existing: Event) -> Result<EventDraft, AppError> {
        guard case .object(let members) = patch else {
            return .failure(
                .validation([
                    FieldError(field: "body", code: "invalid_type", message: "expected a JSON object (merge patch), got \(patch.typeName)")
                ]))
        }
        var document = existing.writableDocument
        for (key, value) in members {
            document[key] = value == .null && writableFields.contains(key) ? nil : value
        }
        return validate(.object(document), existing: existing)
    }

    private static func checkReadOnly(_ object: [String: JSONValue], existing: Event?, prefix: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let value = object["id"] {
            let matches: Bool
            switch value {
            case .integer(let id): matches = id == existing?.id
            case .number(let id): matches = existing.map { Double($0.id) == id } ?? false
            default: matches = false
            }
            if !matches {
                errors.append(
                    FieldError(
                        field: prefix + "id", code: "read_only",
                        message: existing == nil
                            ? "id is assigned by the server" : "id is read-only and must equal \(existing!.id) when sent"))
            }
        }
        for (field, stored) in [("created_at", existing?.createdAt), ("updated_at", existing?.updatedAt)] {
            guard let value = object[field] else { continue }
            var matches = false
            if case .string(let raw) = value, case .instant(let sent)? = DateInput.parse(raw), sent == stored {
                matches = true
            }
            if !matches {
                errors.append(
                    FieldError(
                        field: prefix + field, code: "read_only",
                        message: stored == nil
                            ? "\(field) is set by the server" : "\(field) is read-only and must equal \(stored!.rfc3339) when sent"))
            }
        }
        return errors
    }

    private static func text(_ value: JSONValue?, field: String, errors: inout [FieldError]) -> String? {
        // Only an error names the field; a valid text builds nothing for it.
        var name: String { field.split(separator: ".").last.map(String.init) ?? field }
        switch value {
        case nil, .null?:
            errors.append(FieldError(field: field, code: "required", message: "\(name) is required"))
        case .string(let raw)?:
            let trimmed = raw.trimmingWhitespace()
            if trimmed.isEmpty {
                errors.append(FieldError(field: field, code: "blank", message: "\(name) must not be empty or only whitespace"))
            } else if codePoints(raw) > maxTextLength {
                errors.append(
                    FieldError(
                        field: field, code: "too_long",
                        message: "\(name) must be at most \(maxTextLength) characters (code points), got \(raw.unicodeScalars.count)"
                    )
                )
            } else if containsControlCharacter(trimmed) {
                errors.append(
                    FieldError(
                        field: field, code: "control_character",
                        message: "\(name) must not contain control characters (tabs, newlines, ...)"))
            } else {
                return trimmed
            }
        case let other?:
            errors.append(FieldError(field: field, code: "invalid_type", message: "expected a string, got \(other.typeName)"))
        }
        return nil
    }

    /// The code points of `text`: its UTF-8 length when that is all ASCII.
    static func codePoints(_ text: String) -> Int {
        text.utf8.allSatisfy { $0 < 0x80 } ? text.utf8.count : text.unicodeScalars.count
    }

    /// Whether `text` holds a control character (general category Cc), by bytes while they are
    /// ASCII: looking up every scalar's category was half of validating an event's texts.
    static func containsControlCharacter(_ text: String) -> Bool {
        for byte in text.utf8 {
            if byte < 0x20 || byte == 0x7F { return true }
            if byte >= 0x80 { return text.unicodeScalars.contains { $0.properties.generalCategory == .control } }
        }
        return false
    }
}

extension String {
    /// The string without leading and trailing Unicode white space.
    package func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }
}
