//! Rate limiting: token buckets, the shared limiter, and what headers tell us.

pub(crate) mod info;
