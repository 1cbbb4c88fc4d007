//! Signing in with an upstream provider, start to finish: the flow's one-time secrets
//! (`upstream::flow`), the provider's answer (`upstream::connector`), whose account it is
//! (`linking`), then the session and its audit record (`sessions::sign_in`). Web handlers parse
//! the request, call [`start`] or [`complete`], and render the outcome.

use crate::crypto::MasterKey;
use crate::db::{write_transaction, Db};
use crate::error::AppError;
use crate::i18n::Locale;
use crate::identity::access::{EmailPolicy, Unconfirmed};
use crate::identity::audit::{self, AuditKind};
use crate::identity::email_flows::Links;
use crate::identity::ids::SessionId;
use crate::identity::linking::{self, LinkRefusal, Resolution};
use crate::identity::pending_link;
use crate::identity::sessions::{self, Admission, AuthMethod, ClientInfo, SessionPolicy};
use crate::identity::{now, profile};
use crate::metrics::{Metrics, SignInMethod, SignInOutcome};
use crate::upstream::config::{Kind, ProviderConfig};
use crate::upstream::{connector, flow, registry, UpstreamClient, UpstreamError};

/// What federation needs from the running server.
#[derive(Clone, Copy)]
pub struct Federation<'a> {
    pub db: &'a Db,
    pub master_key: &'a MasterKey,
    pub upstream: &'a UpstreamClient,
    /// Where sign-ins are counted (`portcullis_sign_ins_total`).
    pub metrics: &'a Metrics,
}

/// The start of a sign-in (or of linking a provider to the signed-in user).
#[derive(Debug)]
pub enum Started {
    /// Send the browser to `url`, carrying `flow_cookie` (sealed) until the callback.
    Redirect { url: String, flow_cookie: String },
    /// The provider cannot be used right now (e.g. its discovery failed).
    Failed(UpstreamError),
}

/// What the provider sent back to the callback URL (RFC 6749 §4.1.2, §4.1.2.1).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ProviderAnswer {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207 §2: the issuer that sent this response.
    pub iss: Option<String>,
}

/// The person at the callback: their browser, language and sealed flow cookie.
#[derive(Clone)]
pub struct Visitor {
    pub flow_cookie: Option<String>,
    /// The browser's live session now, if any: a link flow must end in the one it started in.
    pub session_id: Option<SessionId>,
    pub client: ClientInfo,
    pub locale: Locale,
    pub links: Links,
}

/// How a callback ended.
#[derive(Debug)]
pub enum Completion {
    SignedIn {
        session: Admission,
        destination: Destination,
    },
    /// The flow or the provider failed: nothing was decided about any user.
    Failed(UpstreamError),
    /// The provider vouched for someone, but linking rules refuse the sign-in.
    Refused(LinkRefusal),
    /// The address belongs to an existing user, who must prove the account before the link is
    /// made: the browser keeps `token` (cookie `pending_link::COOKIE`) and goes to `/link`.
    ProofNeeded { token: String },
}

/// Where the browser goes after a successful callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A signed-in person linked a provider from their account page.
    LinkedFromAccount,
    /// Where the sign-in was started from (unchecked: the web layer sanitises it).
    ReturnTo(Option<String>),
}

/// Starts a flow with the enabled provider `slug`; `Err(NotFound)` when there is none.
pub async fn start(
    fed: Federation<'_>,
    slug: &str,
    return_to: Option<String>,
    link: Option<flow::LinkStarter>,
) -> Result<Started, AppError> {
    let (mk, slug_owned, ttl) = (
        fed.master_key.clone(),
        slug.to_string(),
        fed.upstream.state_ttl,
    );
    let started = fed
        .db
        .run(move |conn| {
            let Some(cfg) = registry::enabled(conn, &mk, &slug_owned)? else {
                return Ok(None);
            };
            let (pending, sealed) =
                flow::begin(conn, &mk, &slug_owned, return_to, link, now(), ttl)?;
            Ok(Some((cfg, pending, sealed)))
        })
        .await?;
    let (cfg, pending, flow_cookie) = started.ok_or(AppError::NotFound)?;
    let start = connector::Start {
        redirect_uri: fed.upstream.redirect_uri(slug),
        state: pending.state,
        nonce: pending.nonce,
        pkce_verifier: pending.pkce_verifier,
    };
    Ok(
        match connector::authorization_url(&cfg, fed.upstream, &start).await {
            Ok(url) => Started::Redirect { url, flow_cookie },
            Err(e) => Started::Failed(e),
        },
    )
}

/// Completes the flow at the callback: checks it is this browser's and unused, asks the provider
/// who signed in, decides which user that is, and opens their session.
/// `Err(NotFound)` when `slug` is no enabled provider.
pub async fn complete(
    fed: Federation<'_>,
    slug: &str,
    answer: ProviderAnswer,
    visitor: Visitor,
    policy: SessionPolicy,
    email_policy: EmailPolicy,
) -> Result<Completion, AppError> {
    let mut kind = None;
    let completion =
        complete_flow(fed, slug, answer, visitor, policy, email_policy, &mut kind).await;
    if let Some(kind) = kind {
        count(fed.metrics, kind, &completion);
    }
    completion
}

/// Counts a callback's outcome under the provider's kind; server failures are not counted.
fn count(metrics: &Metrics, kind: Kind, completion: &Result<Completion, AppError>) {
    let outcome = match completion {
        Ok(Completion::SignedIn { session, .. }) => SignInOutcome::of(session),
        Ok(Completion::Failed(_)) => SignInOutcome::Failure,
        Ok(Completion::Refused(_)) | Err(AppError::AccountDisabled) => SignInOutcome::Refused,
        Ok(Completion::ProofNeeded { .. }) => SignInOutcome::ProofNeeded,
        Err(_) => return,
    };
    metrics.sign_in(SignInMethod::Upstream(kind), outcome);
}

/// [`complete`], noting in `kind` which kind of provider it was once that is known.
async fn complete_flow(
    fed: Federation<'_>,
    slug: &str,
    answer: ProviderAnswer,
    visitor: Visitor,
    policy: SessionPolicy,
    email_policy: EmailPolicy,
    kind: &mut Option<Kind>,
) -> Result<Completion, AppError> {
    let (mk, s, state, cookie, session) = (
        fed.master_key.clone(),
        slug.to_string(),
        answer.state.clone(),
        visitor.flow_cookie.clone(),
        visitor.session_id.clone(),
    );
    let (pending, cfg) = fed
        .db
        .run(move |conn| {
            let (cookie, state) = (cookie.as_deref(), state.as_deref());
            let pending = flow::finish(conn, &mk, cookie, &s, state, session.as_ref(), now())?;
            Ok((pending, registry::enabled(conn, &mk, &s)?))
        })
        .await?;
    let cfg = cfg.ok_or(AppError::NotFound)?;
    *kind = Some(cfg.kind());
    let pending = match pending {
        Ok(p) => p,
        Err(e) => return Ok(Completion::Failed(e)),
    };
    let iss = answer.iss.clone();
    let code = match provider_code(&cfg, answer) {
        Ok(code) => code,
        Err(e) => return Ok(Completion::Failed(e)),
    };
    let cb = connector::Callback {
        redirect_uri: fed.upstream.redirect_uri(slug),
        code,
        iss,
        nonce: pending.nonce.clone(),
        pkce_verifier: pending.pkce_verifier.clone(),
    };
    let (profile, tokens) = match connector::complete(&cfg, fed.upstream, &cb).await {
        Ok(found) => found,
        Err(e) => {
            tracing::info!(provider = %slug, error = %e, "upstream sign-in failed");
            return Ok(Completion::Failed(e));
        }
    };

    let mk = fed.master_key.clone();
    let link_to = pending.link_user_id.clone();
    let return_to = pending.return_to.clone();
    let method = format!("{}:{}", AuthMethod::Federated.as_str(), cfg.slug);
    let outcome = fed
        .db
        .run(move |conn| {
            let now = now();
            let resolved = linking::resolve(
                conn,
                &mk,
                &visitor.links,
                &cfg,
                &profile,
                &tokens,
                link_to.as_ref(),
                now,
            )?;
            if let Ok(Resolution::Created(user)) = &resolved {
                profile::adopt_language(conn, &user.id, visitor.locale, now)?;
            }
            let resolution = match resolved {
                Ok(Resolution::ProofNeeded(proof)) => {
                    let token = write_transaction::<_, AppError, _>(conn, |conn| {
                        audit::record(
                            conn,
                            AuditKind::LinkPending,
                            Some(&proof.user.id),
                            visitor.client.ip.as_deref(),
                            Some(&cfg.slug),
                            now,
                        )?;
                        pending_link::hold(
                            conn,
                            &proof.user,
                            &cfg.slug,
                            &cfg.display_name,
                            &profile,
                            proof.ways,
                            return_to.as_deref(),
                            now,
                        )
                    })?;
                    return Ok(Ok(Outcome::Prove(token)));
                }
                Ok(r) => r,
                Err(refusal) => return Ok(Err(refusal)),
            };
            // The verified-email rule: one call, replaced by the single rule of issue 11 at merge.
            if let Err(Unconfirmed { email }) = email_policy.admits(resolution.user()) {
                return Ok(Err(LinkRefusal::Unverified(email)));
            }
            let session = write_transaction(conn, |conn| {
                sessions::sign_in(
                    conn,
                    &policy,
                    &visitor.links,
                    resolution.user(),
                    &method,
                    &visitor.client,
                    now,
                )
            })?;
            Ok(Ok(Outcome::SignedIn(resolution, session)))
        })
        .await?;
    let (resolution, session) = match outcome {
        Ok(Outcome::SignedIn(resolution, session)) => (resolution, session),
        Ok(Outcome::Prove(token)) => return Ok(Completion::ProofNeeded { token }),
        Err(refusal) => return Ok(Completion::Refused(refusal)),
    };
    let destination = match resolution {
        Resolution::Linked(_) if pending.link_user_id.is_some() => Destination::LinkedFromAccount,
        _ => Destination::ReturnTo(pending.return_to),
    };
    Ok(Completion::SignedIn {
        session,
        destination,
    })
}

/// What the decision in the database came to, before the web's side of it.
enum Outcome {
    SignedIn(Resolution, Admission),
    Prove(String),
}

/// The authorization code from the provider's answer, or why there is none.
fn provider_code(cfg: &ProviderConfig, answer: ProviderAnswer) -> Result<String, UpstreamError> {
    if let Some(error) = answer.error {
        return Err(if error == "access_denied" {
            UpstreamError::Denied(cfg.display_name.clone())
        } else {
            let detail = answer.error_description.unwrap_or(error);
            UpstreamError::ProviderError(
                cfg.display_name.clone(),
                detail.chars().take(200).collect(),
            )
        });
    }
    answer
        .code
        .ok_or_else(|| UpstreamError::Invalid(cfg.display_name.clone(), "no code".into()))
}
