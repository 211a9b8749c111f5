import HTTPTypes
import Hummingbird
import NIOCore

extension Response {
    /// A small HTML page (confirm, unsubscribe), the answer to links in emails.
    ///
    /// Pages carry a strict policy: no scripts, styles or frames from anywhere, forms posting only
    /// here, no framing by other sites (the unsubscribe button must not be clickjacked), no
    /// content sniffing, and no `Referer` that would leak the token in the URL.
    static func page(_ title: String, _ text: String, form: String, status: HTTPResponse.Status = .ok) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>\(title)</title></head><body>\
            <h1>\(title)</h1><p>\(text)</p>\(form)</body></html>
            """
        var headers = pageHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let pageHeaders: HTTPFields = [
        .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .xFrameOptions: "DENY",
        .referrerPolicy: "no-referrer",
    ]
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
