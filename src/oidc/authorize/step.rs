//! One step of the authorization endpoint (OIDC Core §3.1.2.2-5), from the request (fresh or
//! back from the login or consent page) to what the browser sees next.

use chrono::NaiveDateTime;

use super::{
    decide, issue_code, parse, rejection, success_reply, verify_id_token_hint,
    AuthorizationRequest, Next, RawParams, Rejection, Reply, SessionFacts,
};
use crate::db::models::{Consent, Session, User};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Msg;
use crate::identity::access::EmailPolicy;
use crate::identity::ids::ClientId;
use crate::oidc::clients::Client;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::scope::Scope;
use crate::oidc::Provider;

/// The person at the browser, when signed in.
#[derive(Debug, Clone, Copy)]
pub struct Visitor<'a> {
    pub user: &'a User,
    pub session: &'a Session,
}

/// An authorization request as it reaches the step: fresh from the client, or back from the
/// login or consent page (sealed on the way).
#[derive(Debug, Clone)]
pub enum Incoming {
    Fresh(RawParams),
    Resumed {
        request: Box<AuthorizationRequest>,
        consent_just_given: bool,
    },
}

/// What the authorization endpoint does next.
#[derive(Debug, Clone)]
pub enum Step {
    /// Our own error page: the client or its redirect URI cannot be trusted with an answer.
    ErrorPage(Msg),
    /// Answer the client: the code, or an error (RFC 6749 §4.1.2, §4.1.2.1).
    Reply(Reply),
    /// Send the person to sign in (`force`: even though signed in), then back here.
    Login {
        request: Box<AuthorizationRequest>,
        force: bool,
    },
    /// Ask the person to approve the client.
    Consent {
        request: Box<AuthorizationRequest>,
        client_name: String,
    },
    /// The person must confirm their email address first (`access::EmailPolicy`).
    ConfirmEmail { email: String },
    /// Two factors are required: the person sets up a second one, then comes back here.
    EnrolSecondFactor {
        request: Box<AuthorizationRequest>,
        client_name: String,
    },
}

/// The step's answer, with the client's `ui_locales` for the pages that follow.
#[derive(Debug, Clone)]
pub struct Answer {
    pub ui_locales: Option<String>,
    pub step: Step,
}

/// The authorization endpoint (OIDC Core §3.1.2.2-5): looks the client up once, checks the
/// request and `id_token_hint`, applies the email policy, decides between login, consent and
/// the code, and issues the code.
pub fn authorize(
    conn: &mut DbConnection,
    provider: &Provider,
    email_policy: EmailPolicy,
    incoming: Incoming,
    visitor: Option<Visitor<'_>>,
    now: NaiveDateTime,
) -> Result<Answer, AppError> {
    let issuer = provider.issuer.as_str();
    let page = |key: &'static str| Answer {
        ui_locales: None,
        step: Step::ErrorPage(Msg::new(key)),
    };
    let (req, client, consent_just_given) = match incoming {
        Incoming::Fresh(params) => {
            let client = match params.get("client_id") {
                // Malformed IDs name no client: the same page as an unknown one.
                Some(id) => match ClientId::parse(id) {
                    Ok(id) => Client::find(conn, &id)?,
                    Err(_) => None,
                },
                None => None,
            };
            match parse(&params, client.as_ref(), issuer, now) {
                Ok(req) => match client {
                    Some(client) => (req, client, false),
                    None => return Ok(page("authorize-unknown-client")),
                },
                Err(Rejection::Page(message)) => {
                    return Ok(Answer {
                        ui_locales: None,
                        step: Step::ErrorPage(message),
                    })
                }
                Err(Rejection::Redirect(reply)) => {
                    return Ok(Answer {
                        ui_locales: None,
                        step: Step::Reply(reply),
                    })
                }
            }
        }
        Incoming::Resumed {
            request,
            consent_just_given,
        } => match Client::find(conn, &request.client_id)? {
            Some(client) => (*request, client, consent_just_given),
            None => {
                return Ok(Answer {
                    ui_locales: request.ui_locales.clone(),
                    step: Step::ErrorPage(Msg::new("error-client-gone")),
                })
            }
        },
    };
    let step = next_step(
        conn,
        provider,
        email_policy,
        &req,
        &client,
        visitor,
        consent_just_given,
        now,
    )?;
    Ok(Answer {
        ui_locales: req.ui_locales,
        step,
    })
}

#[allow(clippy::too_many_arguments)]
fn next_step(
    conn: &mut DbConnection,
    provider: &Provider,
    email_policy: EmailPolicy,
    req: &AuthorizationRequest,
    client: &Client,
    visitor: Option<Visitor<'_>>,
    consent_just_given: bool,
    now: NaiveDateTime,
) -> Result<Step, AppError> {
    let refuse = |e: OAuthError| Step::Reply(rejection(req, &provider.issuer, e));
    let hint_subject = match &req.id_token_hint {
        Some(t) => match verify_id_token_hint(&provider.keys.current(), t, &provider.issuer) {
            Ok(claims) => Some(claims.sub),
            Err(_) => {
                return Ok(refuse(OAuthError::invalid_request(
                    "id_token_hint is not a valid ID token from this provider",
                )))
            }
        },
        None => None,
    };
    if let Some(Err(unconfirmed)) = visitor.map(|v| email_policy.admits(v.user)) {
        if req.has_prompt("none") {
            return Ok(refuse(OAuthError::new(
                ErrorCode::InteractionRequired,
                "the user must confirm their email address",
            )));
        }
        return Ok(Step::ConfirmEmail {
            email: unconfirmed.email,
        });
    }
    let consented = match visitor {
        Some(v) => {
            Consent::find(conn, &v.user.id, &client.id)?.map(|c| Scope::from_stored(&c.scope))
        }
        None => None,
    };
    let mfa_required = provider.mfa_required || client.require_mfa;
    let facts = match visitor {
        Some(v) => Some(SessionFacts {
            user_id: v.user.id.clone(),
            auth_time: v.session.auth_time,
            mfa: crate::identity::sessions::amr_and_acr(&v.session.auth_method).1
                == crate::identity::sessions::ACR_MFA,
            has_second_factor: mfa_required
                && crate::identity::second_factor::has_any(conn, &v.user.id, provider.passkeys)?,
        }),
        None => None,
    };
    let decision = decide(
        req,
        mfa_required,
        client.skip_consent,
        facts.as_ref(),
        hint_subject.as_deref(),
        consented.as_ref(),
        consent_just_given,
        now,
    );
    Ok(match decision {
        Err(e) => refuse(e),
        Ok(Next::Login { force }) => Step::Login {
            request: Box::new(req.clone()),
            force,
        },
        Ok(Next::EnrolSecondFactor) => Step::EnrolSecondFactor {
            request: Box::new(req.clone()),
            client_name: client.name.clone(),
        },
        Ok(Next::Consent) => Step::Consent {
            request: Box::new(req.clone()),
            client_name: client.name.clone(),
        },
        Ok(Next::Issue) => {
            let session = visitor
                .map(|v| v.session)
                .ok_or_else(|| AppError::Internal("issuing without a session".into()))?;
            let code = issue_code(conn, req, session, &provider.lifetimes, now)?;
            Step::Reply(success_reply(req, &code, &provider.issuer))
        }
    })
}
