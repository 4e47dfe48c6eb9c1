//! One loopback HTTP/1.1 fake for the integration tests that need more control than httpmock
//! gives: exact bytes on the wire (hostile headers, bodies echoing the key, redirects), chunked
//! bodies written piece by piece with pauses, connections cut mid-body, and answers computed
//! from the request. A `FakeServer` binds 127.0.0.1:0, answers from a script or a handler, and
//! records every request so a test can check what the client sent (and what it did not).
//!
//! `server.rs` holds the socket side, `reply.rs` the answers it can give.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

mod reply;
mod server;

// Re-exports a given test crate does not use would warn.
#[allow(unused_imports)]
pub use reply::{End, Reply};
#[allow(unused_imports)]
pub use server::{FakeServer, SeenRequest};
