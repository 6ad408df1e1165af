//! loggate placeholder
