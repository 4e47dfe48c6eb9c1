//! What the benches send and serve: the prompt, and the fault mix.

use chat_limiter_emulator::{EmulatorBuilder, FaultKind, OutputLen};

/// Prompt `i`, `chars` characters long (at least its `item {i}: ` head).
pub fn prompt(chars: usize, i: usize) -> String {
    let head = format!("item {i}: ");
    let body: String = "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(chars.saturating_sub(head.len()))
        .collect();
    head + &body
}

/// The fault mix: OpenAI at 240 RPM / 90k TPM, answers half of `max_tokens`, with 3% 500s,
/// 3% 503s, 2% connection resets and 2% garbage bodies (seeded: every run draws the same).
pub fn fault_mix() -> EmulatorBuilder {
    chat_limiter_emulator::Emulator::openai()
        .rpm(240)
        .tpm(90_000)
        .output_len(OutputLen::Fraction(0.5))
        .fault(FaultKind::Status500, 0.03)
        .fault(FaultKind::Status503, 0.03)
        .fault(FaultKind::ConnectionDrop, 0.02)
        .fault(FaultKind::MalformedBody, 0.02)
        .seed(11)
}
