//! The benches' prompt: `item {i}: ` and filler text, `chars` characters in all.

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
