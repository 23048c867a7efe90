//! The tenant-branded web portal: server-rendered HTML (minijinja templates compiled in), one
//! stylesheet of our own, no script needed. Citizens' pages and the back office live on the
//! tenant's host; sign-in goes through the platform's single sign-on host.
//!
//! Every page goes through [`session::Visitor`]: it resolves the tenant, the language and the
//! signed-in caller, carries the form (CSRF) token, and turns errors into friendly pages.

pub mod admin;
pub mod admin_processes;
pub mod assets;
pub mod charts;
pub mod citizen;
pub mod complaints;
pub mod console;
pub mod contrast;
pub mod dashboard;
mod designer;
mod desk;
pub mod forms;
pub mod i18n;
mod invitation;
pub mod office;
mod results;
mod service_index;
pub mod session;
mod signin;
pub mod sso;
mod steps;
pub mod view;

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

/// Portal routes (paths in Vietnamese, as citizens read them).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/dvc.css", web::get().to(assets::stylesheet))
        .route("/assets/brand.css", web::get().to(assets::brand))
        .route("/assets/logo", web::get().to(assets::logo))
        // Browsers ask for it on their own; no content rather than a 404 in every console.
        .route("/favicon.ico", web::get().to(HttpResponse::NoContent))
        .route("/", web::get().to(citizen::home))
        .route("/thu-tuc/{code}", web::get().to(citizen::procedure))
        .route("/thu-tuc/{code}/nop", web::get().to(citizen::apply_form))
        .route("/thu-tuc/{code}/nop", web::post().to(citizen::apply_check))
        .route("/thu-tuc/{code}/gui", web::post().to(citizen::apply_submit))
        .route("/ho-so", web::get().to(citizen::my_dossiers))
        .route("/ho-so/{code}", web::get().to(citizen::dossier))
        .route("/ho-so/{code}/bo-sung", web::post().to(citizen::supplement))
        .route("/ho-so/{code}/danh-gia", web::post().to(citizen::rate))
        .route("/ho-so/{code}/rut", web::post().to(citizen::withdraw))
        .route("/ho-so/{code}/thanh-toan", web::post().to(citizen::pay))
        .route(
            "/ho-so/{code}/thanh-toan/ket-qua",
            web::get().to(citizen::paid),
        )
        .route("/ho-so/{code}/tep/{id}", web::get().to(citizen::download))
        .route(
            "/ho-so/{code}/ket-qua/{id}",
            web::get().to(results::download),
        )
        .route("/ket-qua/{id}", web::get().to(results::verification))
        .route("/kho-du-lieu", web::get().to(results::wallet))
        .route("/kho-du-lieu/{id}", web::get().to(results::wallet_item))
        .route(
            "/can-bo/ho-so/{code}/ket-qua",
            web::post().to(results::issue),
        )
        .route(
            "/can-bo/ho-so/{code}/ket-qua/{id}/thu-hoi",
            web::post().to(results::revoke),
        )
        .route("/ho-so/{code}/phieu/{slip}", web::get().to(desk::slip))
        .route("/thong-ke", web::get().to(citizen::public_stats))
        .route("/chi-so-phuc-vu", web::get().to(service_index::public))
        .route("/tra-cuu", web::get().to(citizen::lookup_form))
        .route("/tra-cuu", web::post().to(citizen::lookup))
        .route("/phan-anh-kien-nghi", web::get().to(complaints::public))
        .route(
            "/phan-anh-kien-nghi/gui",
            web::get().to(complaints::file_form),
        )
        .route("/phan-anh-kien-nghi/gui", web::post().to(complaints::file))
        .route(
            "/phan-anh-kien-nghi/{code}/xac-minh",
            web::get().to(complaints::verify_form),
        )
        .route(
            "/phan-anh-kien-nghi/{code}/xac-minh",
            web::post().to(complaints::verify),
        )
        .route("/can-bo/phan-anh", web::get().to(complaints::office_list))
        .route(
            "/can-bo/phan-anh/{code}",
            web::get().to(complaints::office_show),
        )
        .route(
            "/can-bo/phan-anh/{code}",
            web::post().to(complaints::office_answer),
        )
        .route("/tai-khoan", web::get().to(citizen::account))
        .route(
            "/tai-khoan/thong-bao",
            web::post().to(citizen::notifications),
        )
        .route("/dang-nhap", web::get().to(session::login))
        .route("/auth/callback", web::get().to(session::callback))
        .route("/dang-xuat", web::post().to(session::logout))
        .route("/da-dang-xuat", web::get().to(session::signed_out))
        .route("/ngon-ngu", web::post().to(session::language))
        .route("/lanh-dao", web::get().to(dashboard::dashboard))
        .route(
            "/lanh-dao/chi-so-phuc-vu",
            web::get().to(service_index::leader),
        )
        .route("/quan-tri", web::get().to(admin::page))
        .route("/quan-tri/nhan-dien", web::post().to(admin::branding))
        .route("/quan-tri/logo", web::post().to(admin::logo))
        .route(
            "/quan-tri/thu-tuc/{code}/ap-dung",
            web::post().to(admin::adopt),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/ngung",
            web::post().to(admin::withdraw),
        )
        .route("/quan-tri/thanh-vien", web::post().to(admin::member))
        .route("/quan-tri/loi-moi", web::post().to(admin::invite))
        .route("/quan-tri/mo-cong", web::post().to(admin::go_live))
        .route("/quan-tri/ten-mien", web::post().to(admin::domain))
        .route("/quan-tri/quy-trinh", web::get().to(admin_processes::page))
        .route("/quan-tri/thu-tuc", web::get().to(designer::list))
        .route("/quan-tri/thu-tuc", web::post().to(designer::create))
        .route("/quan-tri/thu-tuc/nhap", web::post().to(designer::import))
        .route("/quan-tri/thu-tuc/{code}", web::get().to(designer::page))
        .route(
            "/quan-tri/thu-tuc/{code}/thong-tin",
            web::post().to(designer::general),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/can-cu",
            web::post().to(designer::details),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/giay-to",
            web::post().to(designer::add_document),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/giay-to/sap-xep",
            web::post().to(designer::arrange_document),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/truong",
            web::post().to(designer::add_field),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/truong/sap-xep",
            web::post().to(designer::arrange_field),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/xuat-ban",
            web::post().to(designer::publish),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/huy-nhap",
            web::post().to(designer::discard),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/xem-truoc",
            web::get().to(designer::preview),
        )
        .route(
            "/quan-tri/thu-tuc/{code}/tep-khai-bao",
            web::get().to(designer::tenant_file),
        )
        .route(
            "/quan-tri/quy-trinh/{code}",
            web::get().to(admin_processes::editor),
        )
        .route(
            "/quan-tri/quy-trinh/{code}",
            web::post().to(admin_processes::save_process),
        )
        .route(
            "/quan-tri/don-vi",
            web::post().to(admin_processes::save_unit),
        )
        .route(
            "/quan-tri/don-vi/thanh-vien",
            web::post().to(admin_processes::member),
        )
        .route("/loi-moi", web::get().to(invitation::page))
        .route("/loi-moi", web::post().to(invitation::accept))
        .route("/can-bo", web::get().to(office::inbox))
        .route("/can-bo/nhan", web::post().to(office::bulk))
        .route("/can-bo/ho-so/{code}", web::get().to(office::dossier))
        .route("/can-bo/ho-so/{code}", web::post().to(office::act))
        .route("/can-bo/ho-so/{code}/hen-lai", web::post().to(desk::extend))
        .route("/can-bo/ho-so/{code}/buoc", web::post().to(steps::act))
        .route(
            "/can-bo/ho-so/{code}/y-kien",
            web::post().to(steps::opinion),
        )
        .route(
            "/can-bo/ho-so/{code}/nhan-giay-to",
            web::post().to(desk::receive_with_scans),
        )
        .route("/can-bo/tiep-nhan", web::get().to(desk::choose))
        .route("/can-bo/tiep-nhan/{procedure}", web::get().to(desk::form))
        .route("/can-bo/tiep-nhan/{procedure}", web::post().to(desk::check))
        .route(
            "/can-bo/tiep-nhan/{procedure}/gui",
            web::post().to(desk::register),
        );
}

/// The single sign-on host's pages (sign-up, e-mail verification, password reset).
pub fn sso_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/authorize", web::get().to(signin::authorize))
        .route("/oauth/authorize", web::post().to(signin::login))
        .route("/oauth/logout", web::get().to(signin::logout))
        .route("/oauth/logout", web::post().to(signin::logout_confirmed))
        .route("/dang-ky", web::get().to(sso::register_form))
        .route("/dang-ky", web::post().to(sso::register))
        .route("/verify-email", web::get().to(sso::verify_form))
        .route("/verify-email", web::post().to(sso::verify))
        .route("/confirm-email", web::get().to(sso::confirm_email_form))
        .route("/confirm-email", web::post().to(sso::confirm_email))
        .route("/quen-mat-khau", web::get().to(sso::forgot_form))
        .route("/quen-mat-khau", web::post().to(sso::forgot))
        .route("/reset-password", web::get().to(sso::reset_form))
        .route("/reset-password", web::post().to(sso::reset))
        .route("/van-hanh", web::get().to(console::console))
        .route(
            "/van-hanh/don-vi/{slug}",
            web::post().to(console::set_status),
        );
}

/// Unmatched routes: a friendly page in the portal's branding for a browser, problem+json
/// for everything else.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    let wants_html = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let missing = crate::error::AppError::NotFound { what: "page" };
    if !wants_html || req.path().starts_with("/api/") {
        return missing.error_response();
    }
    match session::Visitor::extract(&req).await {
        Ok(v) => v.error(missing),
        Err(e) => e.error_response(),
    }
}
