//! `dvc client …`: OAuth / OpenID Connect clients.

use super::*;

#[derive(Subcommand)]
pub(crate) enum ClientCommand {
    /// Register (or update) a client with its exact redirect URIs.
    Add {
        client_id: String,
        #[arg(long)]
        name: String,
        /// The tenant whose portal this is (its tokens carry that tenant's roles).
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where a logout may send the browser back (never a redirect URI of its own).
        #[arg(long = "post-logout-uri")]
        post_logout_uris: Vec<String>,
        /// Its tokens open the account API (password, address, second factor, dossiers in
        /// every tenant): only for the platform's own apps, never a tenant's client.
        #[arg(long, conflicts_with = "tenant")]
        account_api: bool,
        /// How it proves itself at the token endpoint: none (PKCE only), client_secret_basic,
        /// client_secret_post (a secret printed once) or private_key_jwt (with --jwks-file).
        #[arg(long = "auth-method", default_value = "none")]
        auth_method: String,
        /// Its public keys (a JWK set, JSON), for private_key_jwt.
        #[arg(long = "jwks-file")]
        jwks_file: Option<std::path::PathBuf>,
    },
}

pub(super) fn client(settings: &Settings, command: ClientCommand) -> anyhow::Result<ExitCode> {
    let pool = build_pool_sized(&settings.database, 1);
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    match command {
        ClientCommand::Add {
            client_id,
            name,
            tenant,
            redirect_uris,
            post_logout_uris,
            account_api,
            auth_method,
            jwks_file,
        } => {
            use dvc::auth::client_auth::{self, AuthMethod};
            let method = AuthMethod::parse(&auth_method).ok_or_else(|| {
                anyhow::anyhow!("--auth-method: one of {}", client_auth::METHODS.join(", "))
            })?;
            let jwks: Option<serde_json::Value> = match (method, &jwks_file) {
                (AuthMethod::PrivateKeyJwt, Some(path)) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("--jwks-file {}: {e}", path.display()))?;
                    let value: serde_json::Value = serde_json::from_str(&text)?;
                    serde_json::from_value::<jsonwebtoken::jwk::JwkSet>(value.clone())
                        .map_err(|e| anyhow::anyhow!("--jwks-file: not a JWK set: {e}"))?;
                    Some(value)
                }
                (AuthMethod::PrivateKeyJwt, None) => {
                    anyhow::bail!("private_key_jwt needs --jwks-file with the client's public keys")
                }
                (_, Some(_)) => anyhow::bail!("--jwks-file is for private_key_jwt only"),
                _ => None,
            };
            let secret = method.uses_secret().then(client_auth::new_secret);
            if client_id.starts_with("portal-") {
                anyhow::bail!(
                    "client ids `portal-…` belong to tenant portals, which dvc registers itself"
                );
            }
            for uri in redirect_uris.iter().chain(&post_logout_uris) {
                let parsed = url::Url::parse(uri)
                    .map_err(|e| anyhow::anyhow!("redirect URI `{uri}`: {e}"))?;
                let local = matches!(parsed.host_str(), Some(h) if h == "localhost" || h.ends_with(".localhost") || h == "127.0.0.1");
                if parsed.fragment().is_some()
                    || !(parsed.scheme() == "https" || (parsed.scheme() == "http" && local))
                {
                    anyhow::bail!(
                        "redirect URI `{uri}`: https (http only for localhost), no fragment"
                    );
                }
            }
            let tenant_id = tenant
                .map(|t| tenant_by_slug(conn, &t))
                .transpose()?
                .map(|t| t.id);
            dvc::auth::sso::register_client(
                conn,
                &dvc::auth::sso::ClientSpec {
                    client_id: &client_id,
                    name: &name,
                    tenant: tenant_id,
                    redirect_uris: &redirect_uris,
                    post_logout_redirect_uris: &post_logout_uris,
                    account_api,
                    auth_method: method,
                    secret_hash: secret.as_ref().map(|(_, hash)| hash.as_slice()),
                    jwks: jwks.as_ref(),
                },
            )?;
            cli_audit(
                conn,
                tenant_id,
                "operator.client_registered",
                serde_json::json!({
                    "client_id": client_id,
                    "redirect_uris": redirect_uris,
                    "post_logout_redirect_uris": post_logout_uris,
                    "account_api": account_api,
                    "auth_method": method.as_str(),
                }),
            )?;
            if let Some((secret, _)) = &secret {
                // Shown this once: only its digest is kept.
                println!("client_secret: {secret}");
            }
            println!(
                "client {client_id}: {} redirect URI(s)",
                redirect_uris.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
