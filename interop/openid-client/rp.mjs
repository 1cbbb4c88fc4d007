// A relying application on openid-client (OpenID Certified RP library), configured only with the
// issuer URL, a client id/secret and a redirect URI. It signs a person in through Portcullis'
// login and consent pages, validates the ID token, calls UserInfo, refreshes, introspects,
// revokes and logs out. Exit code 0 = every step held.
//
// Usage: node rp.mjs ISSUER CLIENT_ID CLIENT_SECRET EMAIL PASSWORD AUTH(basic|post)
import * as oidc from 'openid-client'

const [issuer, clientId, clientSecret, email, password, authMethod = 'basic'] = process.argv.slice(2)
const redirectUri = 'http://127.0.0.1:1/callback'
const postLogoutUri = 'http://127.0.0.1:1/bye'

function check (cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`)
}

// A browser: cookies kept by name, redirects followed by hand so each hop can be inspected.
const jar = new Map()
async function browse (url, init = {}) {
  const headers = { ...(init.headers || {}), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') }
  const res = await fetch(url, { ...init, headers, redirect: 'manual' })
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(';')
    const i = pair.indexOf('=')
    const name = pair.slice(0, i).trim()
    const value = pair.slice(i + 1).trim()
    if (attrs.some((a) => /max-age=0/i.test(a.trim())) || value === '') jar.delete(name)
    else jar.set(name, value)
  }
  return res
}
const abs = (loc) => new URL(loc, issuer).href
const unescape = (s) => s.replace(/&#x2f;/g, '/').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
const form = (fields) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })

// Follows a browser through login and consent until it is sent to the redirect URI.
async function toCallback (startUrl) {
  let res = await browse(startUrl)
  for (let hop = 0; hop < 12; hop++) {
    if (res.status >= 300 && res.status < 400) {
      const loc = res.headers.get('location')
      if (loc.startsWith(redirectUri)) return loc
      if (loc.startsWith('/login')) {
        const returnTo = new URL(abs(loc)).searchParams.get('return_to')
        await browse(abs(loc))
        res = await browse(abs('/login'), form({ email, password, return_to: returnTo, csrf_token: jar.get('portcullis_csrf') }))
        check(res.status === 303, `login answered ${res.status}`)
        continue
      }
      res = await browse(abs(loc))
      continue
    }
    const html = await res.text()
    const m = html.match(/name="req" value="([^"]*)"/)
    check(m, `expected a consent page, got ${res.status}`)
    res = await browse(abs('/authorize/consent'), form({ req: unescape(m[1]), decision: 'allow', csrf_token: jar.get('portcullis_csrf') }))
  }
  throw new Error('too many hops')
}

const auth = authMethod === 'post' ? oidc.ClientSecretPost(clientSecret) : oidc.ClientSecretBasic(clientSecret)
const config = await oidc.discovery(new URL(issuer), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] })
check(config.serverMetadata().issuer === issuer, 'issuer matches')

const codeVerifier = oidc.randomPKCECodeVerifier()
const state = oidc.randomState()
const nonce = oidc.randomNonce()
const authUrl = oidc.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile email offline_access',
  code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  state,
  nonce
})
const callback = await toCallback(authUrl.href)
const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true
})
const claims = tokens.claims()
check(claims.sub && claims.auth_time, 'ID token has sub and auth_time')
check(tokens.refresh_token, 'offline_access gave a refresh token')

const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)
check(info.email === email.toLowerCase(), 'userinfo email')

const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token)
check(refreshed.claims().sub === claims.sub, 'refreshed ID token is the same person')
check(refreshed.claims().auth_time === claims.auth_time, 'refreshed ID token keeps auth_time')

const live = await oidc.tokenIntrospection(config, refreshed.access_token)
check(live.active === true && live.sub === claims.sub, 'introspection: active')
await oidc.tokenRevocation(config, refreshed.refresh_token)
const dead = await oidc.tokenIntrospection(config, refreshed.access_token)
check(dead.active === false, 'introspection after revocation: inactive')

const endUrl = oidc.buildEndSessionUrl(config, {
  id_token_hint: refreshed.id_token,
  post_logout_redirect_uri: postLogoutUri,
  state: 'bye-state'
})
const end = await browse(endUrl.href)
check(end.status === 303 && end.headers.get('location') === `${postLogoutUri}?state=bye-state`, `logout redirect (${end.status} ${end.headers.get('location')})`)
const after = await browse(abs('/account'))
check(after.status === 303 && after.headers.get('location').startsWith('/login'), 'signed out at Portcullis')

console.log(JSON.stringify({ ok: true, sub: claims.sub, alg: 'RS256', auth: authMethod }))
