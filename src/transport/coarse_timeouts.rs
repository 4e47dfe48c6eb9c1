//! The default agent's connections with their I/O timeouts in whole milliseconds.
//!
//! ureq sets a socket's read or write timeout (a `setsockopt`) whenever the time left of the
//! attempt's timeout differs from the one the socket has, and with a whole-attempt timeout the
//! time left differs at every read and write: measured, three system calls a request on a
//! reused connection (about 0.7 µs, 2-3% of the client's CPU time against a fast local
//! server). Rounded up to the millisecond, the time left is the same for every read and write
//! that starts within the same millisecond of its attempt, so a fast exchange sets nothing and
//! a slow one no more than before. A timeout may then fire up to a millisecond late, never
//! early (well inside the scheduling jitter of any socket timeout).

use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

/// [`DefaultConnector`] (TCP, proxies, TLS), its connections' timeouts rounded up to the
/// millisecond.
#[derive(Debug, Default)]
pub(crate) struct CoarseTimeouts(DefaultConnector);

impl Connector<()> for CoarseTimeouts {
    type Out = Coarse;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Coarse>, ureq::Error> {
        Ok(self.0.connect(details, chained)?.map(Coarse))
    }
}

/// A connection whose every timeout is rounded up to the millisecond on its way in;
/// everything else is passed through.
#[derive(Debug)]
pub(crate) struct Coarse(Box<dyn Transport>);

impl Transport for Coarse {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }
    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.0.transmit_output(amount, coarse(timeout))
    }
    fn maybe_await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.0.maybe_await_input(coarse(timeout))
    }
    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.0.await_input(coarse(timeout))
    }
    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }
    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}

/// `timeout` with its time left rounded up to the millisecond (none left stays none, a
/// timeout that never happens stays so).
fn coarse(mut timeout: NextTimeout) -> NextTimeout {
    if let UreqDuration::Exact(d) = timeout.after {
        let ms = u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        timeout.after = UreqDuration::Exact(std::time::Duration::from_millis(ms));
    }
    timeout
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_time_left_is_rounded_up_to_the_millisecond() {
        let t = |after| NextTimeout { after, ..NextTimeout::default() };
        let exact = |d: Duration| UreqDuration::Exact(d);
        for (left, rounded) in [
            (Duration::from_micros(599_999_700), Duration::from_millis(600_000)),
            (Duration::from_nanos(1_000_001), Duration::from_millis(2)),
            (Duration::from_millis(30_000), Duration::from_millis(30_000)),
            (Duration::from_nanos(1), Duration::from_millis(1)),
            (Duration::ZERO, Duration::ZERO),
        ] {
            assert_eq!(coarse(t(exact(left))).after, exact(rounded), "{left:?}");
        }
        assert_eq!(coarse(t(UreqDuration::NotHappening)).after, UreqDuration::NotHappening);
    }
}
