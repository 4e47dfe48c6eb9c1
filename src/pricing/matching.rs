//! Model name matching: a dated snapshot is priced like its base model.

/// `model` without its dated-snapshot suffix: `-YYYY-MM-DD` (OpenAI, `gpt-4o-2024-08-06`),
/// `-YYYYMMDD` (Anthropic, `claude-sonnet-4-20250514`) or `-latest`; `None` when it has none.
pub(super) fn undated(model: &str) -> Option<&str> {
    if let Some(base) = model.strip_suffix("-latest") {
        return Some(base).filter(|b| !b.is_empty());
    }
    let (base, tail) = model.rsplit_once('-')?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if digits(tail, 8) {
        return Some(base).filter(|b| !b.is_empty());
    }
    // `-YYYY-MM-DD`: the last three dash-separated parts.
    let mut parts = model.rsplitn(4, '-');
    let (d, m, y, base) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (digits(y, 4) && digits(m, 2) && digits(d, 2) && !base.is_empty()).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::undated;

    #[test]
    fn strips_dated_snapshots_only() {
        assert_eq!(undated("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(undated("gpt-4.1-mini-2025-04-14"), Some("gpt-4.1-mini"));
        assert_eq!(undated("claude-sonnet-4-20250514"), Some("claude-sonnet-4"));
        assert_eq!(undated("claude-3-5-sonnet-20241022"), Some("claude-3-5-sonnet"));
        assert_eq!(undated("claude-3-7-sonnet-latest"), Some("claude-3-7-sonnet"));
        assert_eq!(undated("gpt-4o"), None);
        assert_eq!(undated("claude-sonnet-4-5"), None);
        assert_eq!(undated("o3"), None);
        assert_eq!(undated("2024-08-06"), None);
        assert_eq!(undated("-20250514"), None);
    }
}
