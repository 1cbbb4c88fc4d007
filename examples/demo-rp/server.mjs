// A tiny relying party: the smallest web application that signs people in with Portcullis, to
// see a whole OpenID Connect login (`portcullis seed --demo` registers it). It uses
// openid-client, an OpenID Certified RP library: authorization code flow with PKCE, state and
// nonce, the ID token validated, UserInfo read, and RP-initiated logout.
//
//   ISSUER=http://127.0.0.1:8080 CLIENT_ID=... PORT=3000 node server.mjs
//
// Sessions live in this process's memory: a demo, not a template for production.
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import * as oidc from 'openid-client'

const issuer = process.env.ISSUER || 'http://127.0.0.1:8080'
const clientId = process.env.CLIENT_ID
const port = Number(process.env.PORT || 3000)
const base = (process.env.RP_URL || `http://localhost:${port}`).replace(/\/$/, '')
if (!clientId) {
  console.error('CLIENT_ID is required: run `portcullis seed --demo` and use the ID it prints')
  process.exit(2)
}

// Plain http is allowed only for an issuer on this machine (the two-minute demo).
const local = ['localhost', '127.0.0.1', '[::1]'].includes(new URL(issuer).hostname)
const config = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(),
  local ? { execute: [oidc.allowInsecureRequests] } : undefined)

const sessions = new Map()
const COOKIE = 'demo_rp_session'

function sessionOf (req) {
  const m = (req.headers.cookie || '').match(new RegExp(`(?:^|; )${COOKIE}=([^;]+)`))
  return m && sessions.get(m[1]) ? [m[1], sessions.get(m[1])] : [null, null]
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])

function page (res, status, body) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    'cache-control': 'no-store'
  })
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Demo app</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
pre{background:#f3f4f6;padding:1rem;overflow:auto;border-radius:.5rem}a.button{display:inline-block;background:#2b4fd8;color:#fff;padding:.5rem 1rem;border-radius:.4rem;text-decoration:none}</style>
</head><body><main>${body}</main></body></html>`)
}

function redirect (res, location, cookie) {
  const headers = { location }
  if (cookie) headers['set-cookie'] = cookie
  res.writeHead(303, headers)
  res.end()
}

async function handle (req, res) {
  const url = new URL(req.url, base)
  const [sid, session] = sessionOf(req)

  if (url.pathname === '/') {
    if (session?.claims) {
      const name = session.userinfo.name || session.claims.sub
      return page(res, 200, `<h1>Signed in as ${escape(name)}</h1>
<p>The demo app received these from Portcullis.</p>
<h2>ID token claims</h2><pre id="claims">${escape(JSON.stringify(session.claims, null, 2))}</pre>
<h2>UserInfo</h2><pre id="userinfo">${escape(JSON.stringify(session.userinfo, null, 2))}</pre>
<p><a class="button" href="/logout">Sign out</a></p>`)
    }
    return page(res, 200, `<h1>Demo app</h1>
<p>This application keeps no passwords: it asks Portcullis at <code>${escape(issuer)}</code> who you are.</p>
<p><a class="button" href="/login">Sign in with Portcullis</a></p>`)
  }

  if (url.pathname === '/login') {
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const id = randomBytes(24).toString('base64url')
    sessions.set(id, { verifier, state, nonce })
    const to = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${base}/callback`,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce
    })
    return redirect(res, to.href, `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`)
  }

  if (url.pathname === '/callback') {
    if (!session?.verifier) return page(res, 400, '<h1>No sign-in in progress</h1><p><a href="/">Start again</a></p>')
    try {
      const tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: session.verifier,
        expectedState: session.state,
        expectedNonce: session.nonce,
        idTokenExpected: true
      })
      const claims = tokens.claims()
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)
      sessions.set(sid, { claims, userinfo, idToken: tokens.id_token })
      return redirect(res, '/')
    } catch (e) {
      console.error('sign-in failed:', e)
      return page(res, 400, `<h1>Sign-in failed</h1><pre>${escape(e.message)}</pre><p><a href="/">Start again</a></p>`)
    }
  }

  if (url.pathname === '/logout') {
    if (sid) sessions.delete(sid)
    const clear = `${COOKIE}=; Path=/; Max-Age=0`
    if (!session?.idToken) return redirect(res, '/', clear)
    const to = oidc.buildEndSessionUrl(config, {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: `${base}/`
    })
    return redirect(res, to.href, clear)
  }

  page(res, 404, '<h1>Not found</h1>')
}

createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(e)
    if (!res.headersSent) page(res, 500, '<h1>Something went wrong</h1>')
  })
}).listen(port, () => console.log(`demo app listening on ${base}/`))
