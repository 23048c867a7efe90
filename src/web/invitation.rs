//! `/loi-moi`: accepting an invitation to a tenant, signed in with the invited address.

use super::session::Visitor;
use crate::auth::invitations::{self, AcceptError};
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

fn refused_status(e: &AcceptError) -> actix_web::http::StatusCode {
    use actix_web::http::StatusCode;
    match e {
        AcceptError::Unknown => StatusCode::NOT_FOUND,
        AcceptError::OtherAccount | AcceptError::Unverified => StatusCode::FORBIDDEN,
        AcceptError::Used | AcceptError::Expired => StatusCode::CONFLICT,
    }
}

fn problem_key(e: &AcceptError) -> &'static str {
    match e {
        AcceptError::Unknown => "unknown",
        AcceptError::Used | AcceptError::Expired => "spent",
        AcceptError::OtherAccount | AcceptError::Unverified => "other",
    }
}

pub async fn page(v: Visitor, q: web::Query<TokenQuery>) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        let (tenant, account) = (v.tenant.tenant.id, user.account);
        let token = q.token.clone();
        let (offer, profile) = if invitations::well_formed(&token) {
            let now = v.state.now();
            v.state
                .shared
                .run(move |c| {
                    Ok((
                        invitations::peek(c, tenant, &token, now)?,
                        crate::auth::sso::profile(c, account)?,
                    ))
                })
                .await?
        } else {
            (Err(AcceptError::Unknown), None)
        };
        let status = match &offer {
            Ok(_) => actix_web::http::StatusCode::OK,
            Err(refused) => refused_status(refused),
        };
        Ok(v.page_with(
            status,
            "invitation.html",
            context! {
                role => offer.as_ref().ok().map(|r| r.as_str()),
                problem => offer.as_ref().err().map(problem_key),
                email => profile.map(|p| p.email),
                token => q.token.clone(),
            },
        ))
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AcceptForm {
    csrf: String,
    token: String,
}

/// Spends the invitation; the account's sessions end (its tokens must carry the new role),
/// so the page offers to sign in again, landing where the role works.
pub async fn accept(v: Visitor, form: web::Form<AcceptForm>) -> HttpResponse {
    let result = async {
        let user = v.user()?;
        v.check_csrf(&form.csrf)?;
        Ok(
            match crate::app::onboarding::accept_invitation(&v.state, user, &form.token).await? {
                Ok(role) => v.page(
                    "invitation.html",
                    context! {
                        accepted => true,
                        next => match role {
                            crate::auth::roles::Role::TenantAdmin => "/quan-tri",
                            crate::auth::roles::Role::Leader => "/lanh-dao",
                            crate::auth::roles::Role::Officer => "/can-bo",
                        },
                    },
                ),
                Err(refused) => v.page_with(
                    refused_status(&refused),
                    "invitation.html",
                    context! { problem => problem_key(&refused) },
                ),
            },
        )
    }
    .await;
    v.respond(result)
}
