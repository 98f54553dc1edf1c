//! Scan banners in (work in progress).
