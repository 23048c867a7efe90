//! Electronic results (kết quả điện tử): the documents a dossier's decision issues, signed by the
//! agency. `pades` signs a PDF with the agency's key and certificate chain (PAdES baseline B-B).
//! Pure: bytes in, bytes out; keys and certificates come from the caller.

pub mod pades;

pub use pades::{SignError, Signer, sign};
