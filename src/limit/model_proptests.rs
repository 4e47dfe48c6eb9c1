//! Property tests of one model's limit state under hostile server figures: any sequence of
//! header syncs (zero, huge and nonsensical limits, remainings and resets), admissions,
//! settlements, pauses and clock steps never panics, never asks to wait into the past, and
//! keeps its snapshot readable.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::limit::info::{DimensionInfo, RateLimitInfo};
use crate::limit::model::{Cost, LimitConfig, ModelState, Poll};

/// Cases per property (reported in docs/hardening.md).
const CASES: u32 = 512;

fn arb_count() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        Just(None),
        Just(Some(0)),
        Just(Some(1)),
        Just(Some(u64::MAX)),
        (0u64..100_000).prop_map(Some),
        any::<u64>().prop_map(Some),
    ]
}

fn arb_reset() -> impl Strategy<Value = Option<Duration>> {
    prop_oneof![
        Just(None),
        Just(Some(Duration::ZERO)),
        Just(Some(Duration::MAX)),
        (0u64..100_000_000).prop_map(|ms| Some(Duration::from_millis(ms))),
        any::<u64>().prop_map(|s| Some(Duration::from_secs(s))),
    ]
}

fn arb_dim() -> impl Strategy<Value = DimensionInfo> {
    (arb_count(), arb_count(), arb_reset()).prop_map(|(limit, remaining, reset)| DimensionInfo {
        limit,
        remaining,
        reset,
    })
}

fn arb_info() -> impl Strategy<Value = RateLimitInfo> {
    let resolution = prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::from_millis(1)),
        Just(Duration::from_secs(1))
    ];
    (arb_dim(), arb_dim(), arb_dim(), arb_dim(), arb_reset(), resolution, any::<bool>()).prop_map(
        |(r, t, i, o, ra, res, against_date)| RateLimitInfo {
            requests: r,
            tokens: t,
            input_tokens: i,
            output_tokens: o,
            retry_after: ra,
            reset_resolution: res,
            resets_against_date: against_date,
            token_remaining_rounding: 1000,
        },
    )
}

fn arb_cost() -> impl Strategy<Value = Cost> {
    let n = prop_oneof![0u64..2_000, Just(u64::MAX), any::<u64>()];
    (n.clone(), n.clone(), n).prop_map(|(tokens, input, output)| Cost { tokens, input, output })
}

fn arb_config() -> impl Strategy<Value = LimitConfig> {
    let limit = prop_oneof![Just(None), (1u32..1_000_000).prop_map(Some), Just(Some(u32::MAX))];
    let ratio = prop_oneof![Just(1.0), 0.01f64..=1.0];
    (
        limit.clone(),
        limit.clone(),
        limit.clone(),
        limit,
        ratio.clone(),
        ratio,
        1u32..8,
        any::<bool>(),
    )
        .prop_map(
            |(requests, tokens, input, output, request_ratio, token_ratio, cap, learn)| {
                LimitConfig {
                    requests,
                    tokens,
                    input,
                    output,
                    request_ratio,
                    token_ratio,
                    request_window: Duration::from_secs(60),
                    token_window: Duration::from_secs(60),
                    max_in_flight: cap,
                    learn_from_headers: learn,
                    max_wait: None,
                }
            },
        )
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // test-only operations; size is irrelevant
enum Op {
    Sync(RateLimitInfo),
    Poll(Cost, bool),
    Release(bool),
    Settle(Cost),
    Pause(u64),
    Advance(u64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        arb_info().prop_map(Op::Sync),
        (arb_cost(), any::<bool>()).prop_map(|(c, f)| Op::Poll(c, f)),
        any::<bool>().prop_map(Op::Release),
        arb_cost().prop_map(Op::Settle),
        (0u64..3_600_000).prop_map(Op::Pause),
        prop_oneof![0u64..2_000, 0u64..100_000_000].prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn hostile_figures_never_panic_or_wait_into_the_past(
        cfg in arb_config(),
        ops in prop::collection::vec(arb_op(), 1..40),
    ) {
        let start = Instant::now();
        let mut now = start;
        let mut st = ModelState::new(cfg, now);
        let mut admitted: Vec<(bool, Cost)> = Vec::new();
        let mut queued = false;
        for op in ops {
            match op {
                Op::Sync(info) => st.sync(&info, now, None),
                Op::Poll(cost, front) => {
                    if !queued {
                        st.enqueue(front);
                        queued = true;
                    }
                    match st.poll_head(&cost, now) {
                        Poll::Admit { probe } => {
                            queued = false;
                            admitted.push((probe, st.charged(&cost)));
                        }
                        Poll::WaitUntil(at) => prop_assert!(at >= now, "wait into the past"),
                        Poll::WaitSignal => {}
                        Poll::NeverFits { needed, capacity, .. } => {
                            prop_assert!(needed > capacity);
                            if let Some(head) = st.head() {
                                st.remove(head);
                            }
                            queued = false;
                        }
                    }
                }
                Op::Release(answered) => {
                    if let Some((probe, _)) = admitted.pop() {
                        st.release(probe, answered, answered, now, now);
                    }
                }
                Op::Settle(actual) => {
                    if let Some((_, reserved)) = admitted.last() {
                        st.settle(reserved, &actual, now);
                    }
                }
                Op::Pause(ms) => {
                    st.pause(now + Duration::from_millis(ms));
                }
                Op::Advance(ms) => now += Duration::from_millis(ms),
            }
            let snap = st.snapshot("m", now);
            prop_assert!(snap.paused_for.is_none_or(|p| p <= Duration::from_secs(3_600)));
        }
    }
}
