import Foundation
import Hummingbird
import Mustache
import NIOCore

/// The HTML templates (swift-mustache) and the two static assets, loaded once from the
/// target's resources.
///
/// Mustache escapes every `{{value}}` for HTML, so nothing a client wrote reaches a page
/// unescaped; templates never use the triple-brace form.
struct PageTemplates: Sendable {
    let library: MustacheLibrary
    let stylesheet: ByteBuffer
    let script: ByteBuffer

    static let shared: Result<PageTemplates, any Error> = Result { try PageTemplates.load() }

    static func load() throws -> PageTemplates {
        guard let resources = Bundle.module.resourceURL else { throw PagesMissing() }
        let templates = resources.appendingPathComponent("Templates")
        var library = MustacheLibrary()
        for name in ["head", "foot", "events", "event", "message"] {
            let text = try String(contentsOf: templates.appendingPathComponent("\(name).mustache"), encoding: .utf8)
            try library.register(text, named: name)
        }
        let assets = resources.appendingPathComponent("Assets")
        return PageTemplates(
            library: library,
            stylesheet: ByteBuffer(data: try Data(contentsOf: assets.appendingPathComponent("site.css"))),
            script: ByteBuffer(data: try Data(contentsOf: assets.appendingPathComponent("local-time.js"))))
    }

    /// A page of `template` with `values`, under the pages' security headers.
    func page(_ template: String, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let html = library.render(values, withTemplate: template) ?? ""
        var headers = Response.siteHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// An outcome page: a heading and a sentence, and optionally a form, a calendar link and a way back.
    func message(
        _ title: String, _ text: String, status: HTTPResponse.Status = .ok, bad: Bool = false, extra: [String: Any] = [:]
    ) -> Response {
        var values: [String: Any] = ["title": title, "text": text, "bad": bad]
        values.merge(extra) { $1 }
        return page("message", values, status: status)
    }
}

/// The executable was installed without its resources.
struct PagesMissing: Error, CustomStringConvertible {
    var description: String { "the page templates are missing: install event-manager_EventManagerHTTP.resources beside the executable" }
}

extension Response {
    /// Pages: the stylesheet and script of this site only, forms posting only here, never framed.
    /// `same-origin` referrers: links to other sites learn nothing (a token in a URL stays
    /// here), while the browser still sends this site's `Origin` with its own form posts
    /// (`no-referrer` would make it `null`, which the form's origin check must refuse).
    static let siteHeaders: HTTPFields = [
        .cacheControl: "no-store",
        .contentSecurityPolicy:
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .xFrameOptions: "DENY",
        .referrerPolicy: "same-origin",
    ]
}
