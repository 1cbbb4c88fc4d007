//! Security headers on every response.

use actix_web::middleware::DefaultHeaders;

/// Scripts only from here (`/static/passkey.js`, no inline script), and fetches only to here
/// (its WebAuthn ceremonies); styles and images from here (avatars may be anywhere over https), never
/// framed. No `form-action`: browsers apply it to the redirects that follow a form, and the
/// login and consent forms end in a redirect to the client application.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                   img-src 'self' https: data:; \
                   frame-ancestors 'none'; base-uri 'none'";

pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CSP))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        // Not `no-referrer`: under it the Fetch standard makes browsers send `Origin: null` on
        // same-origin form posts, which the CSRF check must refuse. `same-origin` keeps the
        // referrer (and its one-time tokens in reset or sign-in links) from every other site.
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ))
        // Pages are personal; only responses that opt in (static files) may be cached.
        .add(("Cache-Control", "no-store"));
    if https {
        headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}
