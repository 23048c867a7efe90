//! Electronic results (kết quả điện tử): the documents a dossier's decision issues, signed by the
//! agency. `identity` reads and checks the agency's key and certificate chain (PKCS#12),
//! `pades` signs a PDF with it (PAdES baseline B-B), `number` is the register's numbering.
//! Pure: bytes in, bytes out; the stores and the use cases live elsewhere.

pub mod identity;
pub mod local_ca;
pub mod model;
pub mod pades;
pub mod store;

pub use identity::{AgencyKey, Identity, IdentityError, IdentitySummary};
pub use model::{Digitisation, DigitisationReport, Origin, ResultStatus, ResultView, Verification};
pub use pades::{SignError, sign};
