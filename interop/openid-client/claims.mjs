// What a relying application built on openid-client (OpenID Certified RP library) receives as
// claims: it signs a person in through Portcullis' login and consent pages with the scopes it is
// given, validates the ID token, calls UserInfo and prints both as JSON. A second call refreshes
// (a new, validated ID token) and reads UserInfo again, so a test can change the user in between.
//
// Usage: node claims.mjs login ISSUER CLIENT_ID CLIENT_SECRET EMAIL PASSWORD SCOPE
//        node claims.mjs refresh ISSUER CLIENT_ID CLIENT_SECRET REFRESH_TOKEN
// Prints {"id_token": {...claims}, "userinfo": {...}, "refresh_token": "..."}; exit code 0 = every
// check of the library held.
import * as oidc from 'openid-client'

const [mode, issuer, clientId, clientSecret, ...rest] = process.argv.slice(2)
const redirectUri = 'http://127.0.0.1:1/callback'

function check (cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`)
}

// A browser, as in rp.mjs: cookies kept by name, redirects followed by hand.
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

async function toCallback (startUrl, email, password) {
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

const config = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.ClientSecretBasic(clientSecret), { execute: [oidc.allowInsecureRequests] })

let tokens
if (mode === 'login') {
  const [email, password, scope] = rest
  const codeVerifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce
  })
  const callback = await toCallback(authUrl.href, email, password)
  tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true
  })
} else if (mode === 'refresh') {
  tokens = await oidc.refreshTokenGrant(config, rest[0])
} else {
  throw new Error(`unknown mode ${mode}`)
}
const claims = tokens.claims()
check(claims && claims.sub, 'a validated ID token with sub')
const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)
console.log(JSON.stringify({ id_token: claims, userinfo, refresh_token: tokens.refresh_token ?? null }))
