//! Rate limiting: token buckets, the shared limiter, and what headers tell us.

pub(crate) mod duration;
pub(crate) mod headers;
pub(crate) mod info;
pub(crate) mod timestamp;
