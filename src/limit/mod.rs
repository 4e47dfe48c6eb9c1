//! Rate limiting: token buckets, the shared limiter, and what headers tell us.

pub(crate) mod bucket;
pub(crate) mod clock;
pub(crate) mod info;
pub(crate) mod limiter;
pub(crate) mod model;
#[cfg(test)]
mod model_proptests;
#[cfg(feature = "redis")]
pub(crate) mod redis_scripts;
#[cfg(feature = "redis")]
pub(crate) mod redis_store;
pub(crate) mod snapshot;
pub(crate) mod store;
pub(crate) mod window;
